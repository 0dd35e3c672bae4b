"""The upstreams file: what it routes, and one line naming the file, line and problem when it is bad."""

import subprocess
import sys
import textwrap

import pytest

from askservice.config import REPO_ROOT, Settings
from askservice.errors import ConfigError
from askservice.upstreams import Route, load

GOOD = """
[upstreams.openai]
base_url = "https://api.openai.com/v1/"
api_key_env = "OPENAI_API_KEY"
stream_usage = true

[upstreams.gpu]
base_url = "http://10.0.0.5:8000/v1"
timeout = 120

[models."gpt-4o-mini"]
upstream = "openai"
aliases = ["mini"]
fallbacks = ["qwen"]

[models.qwen]
upstream = "gpu"
model = "Qwen/Qwen2.5-7B-Instruct"
"""


def write(tmp_path, text: str) -> str:
    path = tmp_path / "upstreams.toml"
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_a_good_file_names_upstreams_routes_and_aliases(tmp_path):
    parsed = load(write(tmp_path, GOOD), {"OPENAI_API_KEY": "sk-test"}, 60.0)
    openai, gpu = parsed.upstreams["openai"], parsed.upstreams["gpu"]
    assert (openai.base_url, openai.api_key, openai.timeout, openai.stream_usage) == ("https://api.openai.com/v1", "sk-test", 60.0, True)
    assert (gpu.api_key, gpu.timeout, gpu.stream_usage) == (None, 120.0, False)
    assert parsed.routes["mini"] is parsed.routes["gpt-4o-mini"] == Route("gpt-4o-mini", "openai", "gpt-4o-mini", ("qwen",))
    assert parsed.routes["qwen"].model == "Qwen/Qwen2.5-7B-Instruct"
    assert parsed.listed == ("gpt-4o-mini", "mini", "qwen")


@pytest.mark.parametrize("change, line, problem", [
    (("timeout = 120", "timeout = 120\ntimeout = 1"), 10, "Cannot overwrite a value"),
    (('upstream = "gpu"', 'upstream = "gpus"'), 17, "upstream 'gpus' is not an [upstreams.NAME]"),
    (('fallbacks = ["qwen"]', 'fallbacks = ["llama"]'), 14, "fallback 'llama' is not a model of this file"),
    (('fallbacks = ["qwen"]', 'fallbacks = ["mini"]'), 14, "fallback 'mini' is the model itself"),
    (('aliases = ["mini"]', 'aliases = ["qwen"]'), 16, "model name 'qwen' is used twice"),
    (('base_url = "http://10.0.0.5:8000/v1"', 'base_url = "10.0.0.5:8000"'), 8, "needs base_url"),
    (("timeout = 120", "timeout = 0"), 9, "timeout must be a number of seconds greater than 0"),
    (("stream_usage = true", 'stream_usage = "yes"'), 5, "stream_usage must be true or false"),
    (("stream_usage = true", "stream_usage = true\nretries = 3"), 6, "unknown key 'retries'"),
    (('api_key_env = "OPENAI_API_KEY"', 'api_key_env = "UNSET_KEY"'), 4, "api_key_env names UNSET_KEY, which is not set"),
    (('model = "Qwen/Qwen2.5-7B-Instruct"', "model = 7"), 18, "model must be a non-empty string"),
])
def test_a_bad_file_is_one_line_naming_file_line_and_problem(tmp_path, change, line, problem):
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ConfigError) as caught:
        load(path, {"OPENAI_API_KEY": "sk-test"}, 60.0)
    message = str(caught.value)
    assert message.startswith(f"{path}") and f"line {line}" in message and problem in message
    assert "\n" not in message


def test_settings_check_the_file_against_the_other_upstream_variables(tmp_path):
    path = write(tmp_path, GOOD)
    env = {"UPSTREAMS_FILE": path, "OPENAI_API_KEY": "k"}
    settings = Settings.from_env({**env, "UPSTREAM_MODEL": "mini", "UPSTREAM_TIMEOUT": "5"}, dotenv_path="/nonexistent")
    assert settings.upstreams.upstreams["openai"].timeout == 5.0  # UPSTREAM_TIMEOUT is the file's default
    for extra, named in (({"UPSTREAM_BASE_URL": "http://x/v1"}, "UPSTREAM_BASE_URL"),
                         ({"UPSTREAM_MODEL": "gpt-5"}, "UPSTREAM_MODEL='gpt-5' is not a model of"),
                         ({"EMBEDDING_MODEL": "embed"}, "EMBEDDING_MODEL='embed' is not a model of")):
        with pytest.raises(ConfigError, match=named):
            Settings.from_env({**env, **extra}, dotenv_path="/nonexistent")


def test_start_up_stops_with_one_line(tmp_path):
    path = write(tmp_path, GOOD.replace("[models.qwen]", "[models.qwen"))
    result = subprocess.run([sys.executable, "-m", "askservice.config"], capture_output=True, text=True,
                            env={"UPSTREAMS_FILE": path, "OPENAI_API_KEY": "k", "PYTHONPATH": str(REPO_ROOT / "src")})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"askservice: configuration error: {path}: Expected ']' at the end of a table declaration (at line 16, column 13)"
    ]


def test_the_readme_file_of_real_upstreams_is_valid(tmp_path):
    readme = (REPO_ROOT / "README.md").read_text()
    block = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    parsed = load(write(tmp_path, block), {"OPENAI_API_KEY": "sk", "ANTHROPIC_API_KEY": "sk-ant"}, 60.0)
    assert set(parsed.upstreams) == {"openai", "vllm", "ollama", "llamacpp", "lmstudio", "anthropic"}
    assert parsed.routes["default"].public == "gpt-4o-mini" and parsed.routes["qwen"].fallbacks == ("llama3.2",)
