"""Compiler flags for the project's own code (third-party headers are system includes)."""

KMS_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-unused-parameter",
]
