#!/usr/bin/env python3
"""Prints the -labsl_* flags (with --cmake: the library names, ';'-separated) of the `absl` target in third_party/system.BUILD, the one list of
Abseil libraries the project links, for the static library's pkg-config/CMake metadata."""
import re
import sys

cmake = sys.argv[1] == "--cmake"
text = open(sys.argv[-1]).read()
block = re.search(r'name = "absl",\s*linkopts = \[(.*?)\]', text, re.S).group(1)
flags = re.findall(r'"(-labsl_[a-z0-9_]+)"', block)
print(";".join(f[2:] for f in flags) if cmake else " ".join(flags))
