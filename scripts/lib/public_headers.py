#!/usr/bin/env python3
"""Prints the public headers (the `public_headers` filegroup of kms_envelope/packaging/BUILD.bazel)
as repository paths, after checking that each includes only public headers or headers from
outside the project (`<...>` or non-kms_envelope paths). Exits 1 naming every offending include:
an installed header that includes a private one would not compile for users."""
import re
import sys


def public_headers(build_file):
    text = open(build_file).read()
    group = re.search(r'name = "public_headers",\s*srcs = \[(.*?)\]', text, re.S).group(1)
    return [label[2:].replace(":", "/") for label in re.findall(r'"(//[^"]+)"', group)]


def main():
    headers = public_headers(sys.argv[1])
    allowed = set(headers)
    bad = []
    for h in headers:
        for n, line in enumerate(open(h), 1):
            m = re.match(r'\s*#\s*include\s+"(kms_envelope/[^"]+)"', line)
            if m and m.group(1) not in allowed:
                bad.append(f"{h}:{n}: includes private header {m.group(1)}")
    if bad:
        print("\n".join(bad), file=sys.stderr)
        return 1
    print(" ".join(headers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
