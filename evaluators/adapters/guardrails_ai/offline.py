"""Load guardrails-ai with everything that would leave the machine switched off, in code.

What guardrails-ai 0.11 does by default, as read from its source:

- Every `Guard()` re-reads `~/.guardrailsrc` (`Guard.configure` → `RC.load`). Without that file
  `enable_metrics` is true, and the guard switches on the process-wide `HubTelemetry`
  singleton, whose OTLP exporter sends a span for every guard call and validator inference to
  the vendor's collector. No environment variable turns it off; the file or
  `Guard.configure(allow_metrics_collection=False)` does, one guard at a time, until the next
  `Guard()` reloads the file.
- A validator decides from `use_remote_inferencing` in the same file whether a hub validator
  sends the text to a hosted model instead of running it locally.
- `settings.use_server` routes guard calls to a Guardrails API server; `settings.disable_tracing`
  keeps guardrails' own OpenTelemetry spans out of any tracer provider the host configured.
- LLM calls go through LiteLLM, whose import fetches a model price list from the internet
  unless `LITELLM_LOCAL_MODEL_COST_MAP` is true.
- `Guard.validate` runs validators on asyncio and, uvloop being installed, makes uvloop the
  event-loop policy of the whole process; `GUARDRAILS_RUN_SYNC=true` runs them in turn instead.

`configure_guardrails_offline` forces all of this off for the process, whatever the rc file
says, and is called by this adapter before any guard or validator exists. A Guard built before
it is called may already have queued spans: call it first (importing the adapter does).
"""

from __future__ import annotations

import importlib
import os
import threading
from types import ModuleType
from typing import Any

CHECKED_VERSIONS = ("0.11.",)
"""guardrails-ai versions whose source these settings were checked against."""

_lock = threading.Lock()
_configured = False


class GuardrailsUnavailableError(ImportError):
    """guardrails-ai is not installed, cannot be imported, or is a version not checked here."""


def configure_guardrails_offline() -> ModuleType:
    """Switch off metrics export, remote inference, the API server and guardrails' tracing,
    make LiteLLM use its bundled price list, and return the `guardrails` module.

    Idempotent and thread-safe; raises GuardrailsUnavailableError with the reason when
    guardrails-ai cannot be used.
    """
    global _configured
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    os.environ.setdefault("GUARDRAILS_RUN_SYNC", "true")
    guardrails = _import("guardrails")
    with _lock:
        if not _configured:
            _check_version()
            _ignore_rc_file()
            _install_inert_hub_telemetry()
            settings = guardrails.settings
            settings.disable_tracing = True
            settings.use_server = False
            _configured = True
    return guardrails


def _import(module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        if error.name is not None and error.name.split(".")[0] in ("guardrails", "guardrails_ai"):
            raise GuardrailsUnavailableError(
                "guardrails-ai is not installed; "
                "install the extra: pip install 'proctor[guardrails]'"
            ) from error
        raise GuardrailsUnavailableError(f"guardrails-ai cannot be imported: {error}") from error


def _check_version() -> None:
    version: str = _import("guardrails.version").GUARDRAILS_VERSION
    if not version.startswith(CHECKED_VERSIONS):
        raise GuardrailsUnavailableError(
            f"guardrails-ai {version} is installed, but its telemetry settings were checked only "
            f"for {', '.join(v + 'x' for v in CHECKED_VERSIONS)}; install 'proctor[guardrails]'"
        )


def _ignore_rc_file() -> None:
    """Every later `RC.load` (each Guard() calls it) yields metrics and remote inference off."""
    rc_class: Any = _import("guardrails.classes.rc").RC

    def offline_rc(*_args: object, **_kwargs: object) -> Any:
        return rc_class(enable_metrics=False, use_remote_inferencing=False)

    rc_class.load = staticmethod(offline_rc)
    _import("guardrails.settings").settings.rc = offline_rc()


def _install_inert_hub_telemetry() -> None:
    """Replace the HubTelemetry singleton by one with no tracer, provider or exporter: its
    span wrappers then do nothing even if a guard later sets it enabled."""
    telemetry_class: Any = _import("guardrails.utils.hub_telemetry_utils").HubTelemetry
    inert = object.__new__(telemetry_class)
    inert._enabled = False
    inert._carrier = {}
    inert._tracer = None
    inert._tracer_provider = None
    inert._processor = None
    inert._prop = None
    telemetry_class._instance = inert
