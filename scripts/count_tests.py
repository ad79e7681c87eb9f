#!/usr/bin/env python3
"""Counts test cases of one `bazel test --test_summary=short` run.

usage: count_tests.py BAZEL_OUTPUT_LOG TESTLOGS_DIR
Prints "P passed, F failed". For every test target listed in the summary, the gtest cases in its
test.xml are counted; a target that did not pass and has no usable XML (failed to build, crashed,
timed out) counts as one failure. A target listed as passed with no cases counts as one pass.
"""
import pathlib
import re
import sys
import xml.etree.ElementTree as ET

log_text = pathlib.Path(sys.argv[1]).read_text(errors="replace")
testlogs = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] else None
line_re = re.compile(r"^(//[^\s]+)\s+(?:\(cached\)\s+)?(PASSED|FAILED TO BUILD|FAILED|TIMEOUT|NO STATUS|FLAKY|INCOMPLETE|REMOTE FAILURE|SKIPPED)\b", re.M)

passed = failed = 0
for target, result in line_re.findall(log_text):
    cases_pass = cases_fail = 0
    xml = None
    if testlogs is not None and result not in ("FAILED TO BUILD", "NO STATUS", "SKIPPED"):
        pkg, _, name = target[2:].partition(":")
        xml = testlogs / pkg / name / "test.xml"
    if xml is not None and xml.exists():
        try:
            for case in ET.parse(xml).getroot().iter("testcase"):
                if case.find("failure") is not None or case.find("error") is not None:
                    cases_fail += 1
                elif case.get("status", "run") == "run":
                    cases_pass += 1
        except ET.ParseError:
            pass
    if result == "PASSED":
        passed += max(cases_pass, 1)
        failed += cases_fail
    elif result == "SKIPPED":
        continue
    else:
        passed += cases_pass
        failed += max(cases_fail, 1)
print(f"{passed} passed, {failed} failed")
