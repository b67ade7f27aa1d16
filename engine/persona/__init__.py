"""Persona backends: the simulated doctor, client or customer the learner practises with."""

from engine.persona.base import PersonaBackend, PersonaContext, TextEmbedder
from engine.persona.scripted import ScriptedPersona

__all__ = ["PersonaBackend", "PersonaContext", "ScriptedPersona", "TextEmbedder"]
