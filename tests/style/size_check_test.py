"""The size checker flags what is over the limits and nothing that is within them."""
import os
import pathlib
import subprocess
import sys
import tempfile
import unittest

CHECKER = pathlib.Path(os.environ.get("TEST_SRCDIR", ".")) / os.environ.get(
    "TEST_WORKSPACE", "") / "scripts" / "size_check.py"


def function(name, body_lines):
    """A function of exactly 2 + body_lines lines (signature, body, closing brace)."""
    body = "".join(f'  x += "{{ not a brace }}"; // {{ nor this {i}\n' for i in range(body_lines))
    return f"int {name}(int x) {{\n{body}}}\n"


class SizeCheckTest(unittest.TestCase):
    def run_checker(self, files, *flags):
        with tempfile.TemporaryDirectory(dir=os.environ.get("TEST_TMPDIR")) as tmp:
            for name, text in files.items():
                (pathlib.Path(tmp) / name).write_text(text)
            result = subprocess.run([sys.executable, str(CHECKER), *flags, tmp],
                                    capture_output=True, text=True)
        return result.returncode, result.stdout

    def test_an_81_line_function_fails_and_an_80_line_one_passes(self):
        code, out = self.run_checker({"a.cc": function("Long", 79)})
        self.assertEqual(code, 1, out)
        self.assertIn("Long 81 lines", out)
        code, out = self.run_checker({"a.cc": function("Fits", 78)})
        self.assertEqual(code, 0, out)

    def test_a_701_line_file_fails_and_a_700_line_one_passes(self):
        code, out = self.run_checker({"b.h": "// x\n" * 701})
        self.assertEqual(code, 1, out)
        self.assertIn("701 lines", out)
        code, _ = self.run_checker({"b.h": "// x\n" * 700})
        self.assertEqual(code, 0)

    def test_methods_in_a_namespace_and_class_count_one_by_one(self):
        text = ("namespace n {\nclass C {\n public:\n" + function("A", 50) + function("B", 50) +
                "};\n}  // namespace n\n")
        code, out = self.run_checker({"c.cc": text})
        self.assertEqual(code, 0, out)
        code, out = self.run_checker({"c.cc": text.replace(function("B", 50), function("B", 90))})
        self.assertEqual(code, 1, out)
        self.assertIn("B 92 lines", out)

    def test_a_constructor_initializer_with_braces_is_one_function(self):
        body = "".join("  ++a_;\n" for _ in range(85))
        text = f"C::C(int a) : a_{{a}}, b_{{a + 1}} {{\n{body}}}\n"
        code, out = self.run_checker({"d.cc": text})
        self.assertEqual(code, 1, out)
        self.assertIn("C::C 87 lines", out)

    def test_macro_braces_and_raw_strings_do_not_open_bodies(self):
        text = ('#define M(x) \\\n  do { \\\n  } while (0)\nconst char* k = R"({"a": {)";\n' +
                function("F", 10))
        code, out = self.run_checker({"e.cc": text})
        self.assertEqual(code, 0, out)

    def test_report_only_prints_but_passes(self):
        code, out = self.run_checker({"a.cc": function("Long", 100)}, "--report-only")
        self.assertEqual(code, 0)
        self.assertIn("Long 102 lines", out)


if __name__ == "__main__":
    unittest.main()
