"""The bottom layer: a shared toolkit that imports no app of this project."""
