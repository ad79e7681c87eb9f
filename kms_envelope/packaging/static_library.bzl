"""static_library: one archive holding the objects of a target and all its cc_library deps.

Bazel 4.2 has no cc_static_library. This rule walks the dependency's CcInfo linker inputs and
merges every static library of the project into one archive with `ar -M`, so that users outside
Bazel can link libkms_envelope.a alone (plus the system libraries pkg-config names). System
libraries are link flags in third_party/system.BUILD, not archives, and stay out.
With pic = True the dependency is built with --force_pic (a transition), which is what the
shared library is linked from.
"""

def _pic_transition_impl(settings, attr):
    return {"//command_line_option:force_pic": attr.pic or settings["//command_line_option:force_pic"]}

_pic_transition = transition(
    implementation = _pic_transition_impl,
    inputs = ["//command_line_option:force_pic"],
    outputs = ["//command_line_option:force_pic"],
)

def _static_library_impl(ctx):
    archives = []
    for linker_input in ctx.attr.dep[0][CcInfo].linking_context.linker_inputs.to_list():
        for lib in linker_input.libraries:
            archive = lib.pic_static_library if ctx.attr.pic else lib.static_library
            if not archive:
                archive = lib.pic_static_library or lib.static_library
            if archive and archive not in archives:
                archives.append(archive)
    out = ctx.actions.declare_file(ctx.attr.out)
    script = ctx.actions.declare_file(ctx.attr.name + ".mri")
    lines = ["create " + out.path] + ["addlib " + a.path for a in archives] + ["save", "end"]
    ctx.actions.write(script, "\n".join(lines) + "\n")
    ctx.actions.run_shell(
        inputs = archives + [script],
        outputs = [out],
        command = "ar -M < " + script.path,
        mnemonic = "MergeArchives",
        progress_message = "Merging %d archives into %s" % (len(archives), out.short_path),
    )
    return [DefaultInfo(files = depset([out]))]

static_library = rule(
    implementation = _static_library_impl,
    attrs = {
        "dep": attr.label(providers = [CcInfo], mandatory = True, cfg = _pic_transition),
        "out": attr.string(mandatory = True),
        "pic": attr.bool(default = False),
        "_allowlist_function_transition": attr.label(
            default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
        ),
    },
)
