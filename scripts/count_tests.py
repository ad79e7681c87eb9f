#!/usr/bin/env python3
"""Prints 'N passed, N failed' over all gtest cases in Bazel's test.xml files.

A test target that produced no XML (crashed, timed out before writing it) counts as one failure.
"""
import pathlib
import sys
import xml.etree.ElementTree as ET

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "bazel-testlogs")
passed = failed = 0
for log in root.rglob("test.log"):
    xml = log.with_name("test.xml")
    if not xml.exists():
        failed += 1
        continue
    try:
        tree = ET.parse(xml)
    except ET.ParseError:
        failed += 1
        continue
    cases = tree.getroot().iter("testcase")
    any_case = False
    for case in cases:
        any_case = True
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.get("status", "run") == "run" and case.find("skipped") is None:
            passed += 1
    if not any_case:
        # Bazel writes a synthetic XML when the binary is not gtest or crashed early.
        suite = tree.getroot()
        errs = int(suite.get("errors", "0") or 0) + int(suite.get("failures", "0") or 0)
        if errs:
            failed += 1
print(f"{passed} passed, {failed} failed")
