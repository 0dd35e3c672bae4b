"""The behaviour of askservice, free of Flask: one module or package per capability, wired here.

Wiring only: every service gets what it uses as constructor arguments, built in dependency order.
"""

from __future__ import annotations

from dataclasses import dataclass

from askservice.blobs import open_blobs
from askservice.config import Settings
from askservice.llm import open_llm
from askservice.services.ask import AskService
from askservice.services.assistants import AssistantsService
from askservice.services.conversations import Conversations
from askservice.services.engine.leases import Leases
from askservice.services.engine.sweeper import Sweeper
from askservice.services.file_search import FileSearch, build_file_search
from askservice.services.gateway import Gateway
from askservice.services.messages import MessageRecords, MessagesService
from askservice.services.file_search.extraction import extract_text
from askservice.services.responses import Responses
from askservice.services.responses.attachments import Attachments
from askservice.services.runs import Runs
from askservice.services.runs.settle import Settler
from askservice.services.runs.steps import Steps
from askservice.services.threads import ThreadsService
from askservice.services.tool_resources import ResourceChecker
from askservice.services.web_search import WebSearchTool
from askservice.store import open_store
from askservice.store.base import Store
from askservice.websearch import open_websearch


@dataclass(frozen=True)
class Services:
    """Every service the web layer can call, built once per app."""

    settings: Settings
    store: Store
    ask: AskService
    gateway: Gateway
    file_search: FileSearch
    assistants: AssistantsService
    threads: ThreadsService
    messages: MessagesService
    runs: Runs
    responses: Responses
    conversations: Conversations
    sweeper: Sweeper


def build_services(settings: Settings) -> Services:
    """Wire the edges (upstream, store, blobs) into the services."""
    blobs = open_blobs(settings)
    store = open_store(settings, blobs)
    llm = open_llm(settings)
    leases = Leases(settings.run_lease_seconds)
    file_search = build_file_search(settings, store, blobs, leases, llm)
    checker = ResourceChecker(file_search.files, file_search.vector_stores)
    records = MessageRecords(store)
    steps = Steps(store, records)
    settler = Settler(store, leases, steps)
    threads = ThreadsService(store, checker, steps.delete_thread_runs)
    assistants = AssistantsService(store, checker)
    messages = MessagesService(store, threads, checker, settler.active_run)
    web = open_websearch(settings)
    server_tools = {"file_search": file_search.tool, **({"web_search": WebSearchTool(web)} if web else {})}
    runs = Runs(settings, store, llm, threads, messages, records, assistants, leases, steps, settler,
                server_tools=server_tools)
    conversations = Conversations(store, threads, records.history)
    attachments = Attachments(file_search.files.content, extract_text)
    responses = Responses(settings, store, llm, leases, attachments, server_tools=server_tools,
                          check_vector_store=checker.vector_store, conversations=conversations)
    return Services(
        settings=settings, store=store, ask=AskService(settings, llm), gateway=Gateway(llm),
        file_search=file_search, assistants=assistants, threads=threads, messages=messages, runs=runs,
        responses=responses, conversations=conversations,
        sweeper=Sweeper(settings.run_lease_seconds / 3, [runs.sweep, file_search.sweep, responses.sweep]),
    )
