# elevate_if_needed PATH CMD...: runs CMD directly when PATH (or its nearest existing parent) is
# writable or we are root, else through sudo. The README's commands work as root on a machine
# without sudo and as a user with sudo; only the steps that need it are elevated.
elevate_if_needed() {
  local path=$1; shift
  while [ ! -e "$path" ] && [ "$path" != / ]; do path=$(dirname "$path"); done
  if [ "$(id -u)" -eq 0 ] || [ -w "$path" ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "need write access to $path: run as root or install sudo" >&2
    return 1
  fi
}
