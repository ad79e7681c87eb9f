"""The Python binding against the real library: seal/open, data keys, cache, streaming files,
inspect, the exception hierarchy, and interop with files made by the CLI (the C++ API)."""
import json
import os
import subprocess

import pytest

import kms_envelope as ke
from kms_envelope import errors

CTX = {"app": "python", "tenant": "a"}


def open_store(store):
    kms = ke.Provider.local(store)
    key_id = kms.create_key("python test")
    return kms, key_id


def test_seal_then_open_returns_the_plaintext_as_a_wipeable_bytearray(store):
    kms, key_id = open_store(store)
    env = ke.Envelope(kms, key_id)
    sealed = env.seal(b"attack at dawn", CTX)
    plain = env.open(sealed, CTX)
    assert isinstance(plain, bytearray) and plain == b"attack at dawn"
    ke.wipe(plain)
    assert plain == bytearray(len(b"attack at dawn"))


def test_open_with_another_context_raises_invalid_ciphertext(store):
    kms, key_id = open_store(store)
    env = ke.Envelope(kms, key_id)
    sealed = env.seal(b"x", CTX)
    with pytest.raises(errors.InvalidCiphertextError) as e:
        env.open(sealed, {"app": "python", "tenant": "b"})
    assert e.value.code == "InvalidCiphertext"


def test_every_single_bit_flip_of_a_small_message_is_refused(store):
    kms, key_id = open_store(store)
    env = ke.Envelope(kms, key_id)
    sealed = bytearray(env.seal(b"abc", CTX))
    for i in range(len(sealed) * 8):
        sealed[i // 8] ^= 1 << (i % 8)
        with pytest.raises(errors.KmsEnvelopeError):
            env.open(bytes(sealed), CTX)
        sealed[i // 8] ^= 1 << (i % 8)
    assert env.open(bytes(sealed), CTX) == b"abc"


def test_unknown_key_raises_key_not_found_which_is_a_not_found_error(store):
    kms, _ = open_store(store)
    env = ke.Envelope(kms, "11111111-2222-3333-4444-555555555555")
    with pytest.raises(errors.KeyNotFoundError) as e:
        env.seal(b"x", CTX)
    assert isinstance(e.value, errors.NotFoundError)
    assert e.value.code == "Forbidden.KeyNotFound"


def test_context_values_must_be_strings(store):
    kms, key_id = open_store(store)
    with pytest.raises(errors.InvalidArgumentError):
        ke.Envelope(kms, key_id).seal(b"x", {"n": 1})


def test_generate_data_key_then_decrypt_gives_the_same_key(store):
    kms, key_id = open_store(store)
    dk = kms.generate_data_key(key_id, CTX)
    assert len(dk.plaintext) == 32 and len(dk.ciphertext_blob) == 108
    assert dk.key_id == key_id and dk.key_version_id and dk.request_id
    again = kms.decrypt(dk.ciphertext_blob, CTX)
    assert again == dk.plaintext
    with pytest.raises(errors.InvalidCiphertextError):
        kms.decrypt(dk.ciphertext_blob, {"app": "other"})


def test_aliases_and_rotation_keep_old_messages_open(store):
    kms, key_id = open_store(store)
    kms.create_alias("alias/py", key_id)
    env = ke.Envelope(kms, "alias/py")
    old = env.seal(b"before rotation", CTX)
    version = kms.rotate_key(key_id)
    new = env.seal(b"after rotation", CTX)
    assert ke.inspect(new)["WrappedKeys"][0]["KeyVersionId"] == version
    assert env.open(old, CTX) == b"before rotation"


def test_cache_serves_many_messages_from_one_data_key(store):
    kms, key_id = open_store(store)
    cached = kms.cached(max_age=60, max_messages=100, max_bytes=1 << 20)
    kms.close()  # the cache keeps the store alive
    env = ke.Envelope(cached, key_id)
    blobs = {ke.inspect(env.seal(b"m%d" % i, CTX))["WrappedKeys"][0]["CiphertextBlob"]
             for i in range(10)}
    assert len(blobs) == 1
    with pytest.raises(errors.InvalidArgumentError):
        cached.cached(max_age=60, max_messages=0)


def test_cache_message_limit_yields_a_new_data_key(store):
    kms, key_id = open_store(store)
    env = ke.Envelope(kms.cached(max_messages=3), key_id)
    blobs = [ke.inspect(env.seal(b"m", CTX))["WrappedKeys"][0]["CiphertextBlob"] for _ in range(6)]
    assert len(set(blobs)) == 2


def test_files_stream_and_the_output_appears_only_when_authenticated(store, tmp_path):
    kms, key_id = open_store(store)
    env = ke.Envelope(kms, key_id)
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(3 * 65536 + 17))
    env.encrypt_file(src, tmp_path / "big.kmse", CTX)
    assert env.decrypt_file(tmp_path / "big.kmse", tmp_path / "out.bin", CTX) == 3 * 65536 + 17
    assert (tmp_path / "out.bin").read_bytes() == src.read_bytes()
    sealed = bytearray((tmp_path / "big.kmse").read_bytes())
    sealed[-1] ^= 1  # the last frame's tag
    (tmp_path / "bad.kmse").write_bytes(sealed)
    with pytest.raises(errors.InvalidCiphertextError):
        env.decrypt_file(tmp_path / "bad.kmse", tmp_path / "bad.out", CTX)
    assert not (tmp_path / "bad.out").exists()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".kmse-py-")]


def test_inspect_describes_the_header_without_decrypting(store, tmp_path):
    kms, key_id = open_store(store)
    sealed = ke.Envelope(kms, key_id).seal(b"12345", CTX)
    info = ke.inspect(sealed)
    assert info["EncryptionContext"] == CTX
    assert info["PlaintextSize"] == 5 and info["Authenticated"] is False
    assert info["WrappedKeys"][0]["KeyId"] == key_id
    with pytest.raises(errors.InvalidCiphertextError):
        ke.inspect(sealed[:10])


def test_a_file_sealed_by_the_cli_opens_in_python_and_the_other_way_round(store, tmp_path, cli):
    home = ["--home", str(store)]
    key_id = json.loads(subprocess.check_output([cli, *home, "key", "create"]))["KeyMetadata"]["KeyId"]
    (tmp_path / "a.txt").write_bytes(b"from the CLI")
    subprocess.check_call([cli, *home, "encrypt", "--key-id", key_id, "--context", "app=python",
                           "-o", str(tmp_path / "a.kmse"), str(tmp_path / "a.txt")])
    with ke.Provider.local(store) as kms:
        env = ke.Envelope(kms, key_id)
        env.decrypt_file(tmp_path / "a.kmse", tmp_path / "a.out", {"app": "python"})
        assert (tmp_path / "a.out").read_bytes() == b"from the CLI"
        (tmp_path / "b.txt").write_bytes(b"from Python")
        env.encrypt_file(tmp_path / "b.txt", tmp_path / "b.kmse", {"app": "python"})
    subprocess.check_call([cli, *home, "decrypt", "--context", "app=python", "-o",
                           str(tmp_path / "b.out"), str(tmp_path / "b.kmse")])
    assert (tmp_path / "b.out").read_bytes() == b"from Python"


def test_a_size_query_on_create_key_creates_no_key(store, cli):
    import ctypes
    from kms_envelope import _native
    kms, _ = open_store(store)
    err, need = _native.Error(), ctypes.c_size_t(0)
    status = _native.lib.kmse_local_create_key(kms._live(), b"q", None, 0, ctypes.byref(need), err)
    assert status == _native.BUFFER_TOO_SMALL and need.value == 37
    listed = json.loads(subprocess.check_output([cli, "--home", str(store), "key", "list"]))
    assert len(listed["Keys"]["Key"]) == 1


def test_from_options_puts_the_root_key_where_the_option_says(tmp_path):
    store, root_key = tmp_path / "store", tmp_path / "root.key"
    with ke.Provider.from_options({"home": store, "root-key-file": root_key}) as kms:
        key_id = kms.create_key("from options")
        sealed = ke.Envelope(kms, key_id).seal(b"x", CTX)
    assert root_key.exists() and not (store / "root.key").exists()
    with ke.Provider.local(store, root_key) as again:
        assert ke.Envelope(again, key_id).open(sealed, CTX) == b"x"


def test_from_options_passes_numbers_to_the_component_they_configure(tmp_path):
    # A zero capacity is refused by the data-key cache itself: the value got there.
    with pytest.raises(errors.InvalidArgumentError, match="cache capacity"):
        ke.Provider.from_options({"home": tmp_path / "s", "cache-capacity": 0})


def test_from_options_refuses_unknown_names_and_values_by_name(tmp_path):
    with pytest.raises(errors.InvalidArgumentError, match="kms-endpiont"):
        ke.Provider.from_options({"kms-endpiont": "cn-hangzhou"})
    with pytest.raises(errors.InvalidArgumentError, match="signature-version"):
        ke.Provider.from_options({"kms-endpoint": "http://127.0.0.1:1", "signature-version": 2})
    with pytest.raises(errors.InvalidArgumentError, match="ca-file does not apply"):
        ke.Provider.from_options({"home": tmp_path / "s", "ca-file": tmp_path / "ca.pem"})
    with pytest.raises(errors.InvalidArgumentError, match="cache-max-bytes"):
        ke.Provider.from_options({"home": tmp_path / "s", "cache-max-bytes": True})


def test_from_options_reads_the_environment_only_when_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("KMS_ENVELOPE_HOME", str(tmp_path / "from-env"))
    ke.Provider.from_options(use_environment=True).close()
    assert (tmp_path / "from-env" / "root.key").exists()
    monkeypatch.setenv("KMS_ENVELOPE_HOEM", "x")
    with pytest.raises(errors.InvalidArgumentError, match="KMS_ENVELOPE_HOEM"):
        ke.Provider.from_options({"home": tmp_path / "s"}, use_environment=True)
    ke.Provider.from_options({"home": tmp_path / "s"}).close()


def test_option_names_are_the_cli_flags(cli):
    names = ke.option_names()
    assert {"home", "kms-endpoint", "ca-file", "branch-key-store", "cache-capacity"} <= set(names)
    help_text = subprocess.run([cli, "--help"], capture_output=True, text=True).stdout
    for name in names:
        assert f"--{name}" in help_text
