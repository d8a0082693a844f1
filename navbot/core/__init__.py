"""The bottom layer: settings, the exception hierarchy, atomic writes, the GC pause, the home.

Everything may import it; it imports nothing of the project.
"""
