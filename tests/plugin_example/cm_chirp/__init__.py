"""Chirp: an example network plugin for cm-toolkit (adapter + sandbox emulator)."""
