"""Subjects: the persons the data is about, known to each agency by its own file reference."""
