"""kms_fuzz_target: one libFuzzer binary plus one plain replay test per fuzz target."""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_library", "cc_test")
load("//kms_envelope:copts.bzl", "KMS_COPTS")

def kms_fuzz_target(name, srcs, deps = [], corpus = None, data = [], size = "small"):
    """Declares :<name>_lib, :<name> (libFuzzer, manual) and :<name>_replay_test.

    :<name> only builds with `--config=fuzz` (clang, -fsanitize=fuzzer at link); the replay test
    links the same target code with fuzz/replay_main.cc and runs every file of `corpus` and of
    fuzz/regressions/<name>/ (inputs that once found something) through it (gcc, no sanitizer),
    so `bazel test //...` replays the corpora.
    """
    corpus = corpus or "corpus/" + name
    cc_library(
        name = name + "_lib",
        testonly = True,
        srcs = srcs,
        copts = KMS_COPTS,
        deps = deps + [":fuzz_check"],
        alwayslink = True,
    )
    cc_binary(
        name = name,
        testonly = True,
        copts = KMS_COPTS,
        linkopts = ["-fsanitize=fuzzer"],
        data = data,
        tags = ["manual"],
        deps = [":" + name + "_lib"],
    )
    native.filegroup(
        name = name + "_corpus",
        testonly = True,
        srcs = native.glob([corpus + "/**", "regressions/" + name + "/**"]),
    )
    cc_test(
        name = name + "_replay_test",
        size = size,
        srcs = ["replay_main.cc"],
        copts = KMS_COPTS,
        args = ["fuzz/" + corpus, "fuzz/regressions/" + name],
        data = data + [":" + name + "_corpus"],
        deps = [":" + name + "_lib"],
    )

    # Inputs of findings not fixed yet (fuzz/known_failing/<name>/): a manual replay test that
    # fails until the bug is fixed; then move the inputs to fuzz/regressions/<name>/.
    known = native.glob(["known_failing/" + name + "/**"])
    if known:
        native.filegroup(name = name + "_known_failing", testonly = True, srcs = known)
        cc_test(
            name = name + "_known_failing_test",
            srcs = ["replay_main.cc"],
            copts = KMS_COPTS,
            args = ["fuzz/known_failing/" + name],
            data = data + [":" + name + "_known_failing"],
            tags = ["manual"],
            deps = [":" + name + "_lib"],
        )
