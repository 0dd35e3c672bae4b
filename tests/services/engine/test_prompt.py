"""The chat messages of a turn: earlier turns, and the prompt-token budget."""

from askservice.services.engine.prompt import fit


def _user(text: str) -> dict:
    return {"role": "user", "content": text}


def test_budget_drops_the_oldest_messages_first_and_gives_up_when_nothing_fits():
    history = [_user("x" * 400), _user("y" * 40), _user("z" * 40)]  # about 100, 10 and 10 tokens
    assert fit([], history, [], 1000) == history
    assert fit([], history, [], 30) == history[1:]
    assert fit([_user("s" * 40)], history, [], 25) == history[2:]
    assert fit([], [_user("w" * 4000)], [], 256) is None
    assert fit([], [], [], 256) is None
