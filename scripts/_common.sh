# Shared helpers for scripts/*: source it, don't run it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
export PATH="$VENV/bin:$PATH"  # tools installed into the venv (cmake if the machine lacks one)

DEBIAN_PACKAGES=(libnng-dev libprotobuf-dev protobuf-compiler libmsgpack-cxx-dev libleveldb-dev
  libsnappy-dev libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev clang-format
  ninja-build libboost-dev libabsl-dev libxxhash-dev openssl iproute2)

log() { echo "[convergent] $*"; }
die() { echo "[convergent] error: $*" >&2; exit 1; }

# Installs the Debian packages the C++ build needs, only those dpkg says are missing.
ensure_debian_packages() {
  local missing=() pkg
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  log "installing Debian packages: ${missing[*]}"
  local sudo=()
  [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}

# Prints the build requirements, runtime dependencies and the `test` and `notebooks` extras (the
# notebook tests execute notebooks/*.ipynb) from pyproject.toml.
_python_requirements() {
  python3 - <<'PY'
try:
    import tomllib
except ImportError:  # Python 3.10
    from pip._vendor import tomli as tomllib
with open("pyproject.toml", "rb") as f:
    meta = tomllib.load(f)
reqs = meta["build-system"]["requires"] + meta["project"].get("dependencies", [])
for extra in ("test", "notebooks"):
    reqs += meta["project"].get("optional-dependencies", {}).get(extra, [])
print("\n".join(reqs))
PY
}

# Creates .venv (python3 on PATH) with the build, test and notebook requirements. A stamp keyed on
# the hash of pyproject.toml and of that list skips all pip work when nothing changed.
ensure_venv() {
  local stamp="$VENV/.convergent-stamp" want
  want="$({ sha256sum pyproject.toml; _python_requirements; } | sha256sum | cut -d' ' -f1)"
  if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi
  if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating $VENV with $(python3 --version)"
    python3 -m venv "$VENV"
  fi
  # pip >= 23.1 is needed for reliable --no-build-isolation in-tree builds; upgrade only if older.
  if ! "$VENV/bin/python" -c 'import sys
from importlib.metadata import version
sys.exit(tuple(map(int, version("pip").split(".")[:2])) < (23, 1))'; then
    log "upgrading pip"
    "$VENV/bin/python" -m pip install -q --upgrade pip
  fi
  log "installing Python build, test and notebook requirements into .venv"
  local reqs
  mapfile -t reqs < <(_python_requirements)
  command -v cmake >/dev/null || reqs+=(cmake)
  "$VENV/bin/python" -m pip install -q "${reqs[@]}"
  echo "$want" >"$stamp"
}

# Builds the wheel in build/py-<tag> (incremental) and installs it into .venv.
install_package() {
  log "installing the convergent Python package into .venv"
  "$VENV/bin/pip" install --no-build-isolation --no-deps -q .
}

# (Re)installs the Python package when it does not import or is older than a source it is built from.
ensure_python_package() {
  ensure_venv
  local so
  so=$("$VENV/bin/python" -c 'import convergent._core as c; print(c.__file__)' 2>/dev/null || true)
  if [[ -z $so ]] || [[ -n $(find cpp python proto CMakeLists.txt pyproject.toml \
                               -newer "$so" -type f -print -quit) ]]; then
    install_package
  fi
}

# build_cpp [dir] [extra cmake args...]: configure (Ninja, RelWithDebInfo, tests, -Werror) and build.
build_cpp() {
  local dir="${1:-build/cpp}"
  [[ $# -gt 0 ]] && shift
  log "building C++ in $dir"
  cmake -G Ninja -S . -B "$dir" --log-level=WARNING -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCONVERGENT_BUILD_TESTS=ON -DCONVERGENT_WERROR=ON "$@"
  cmake --build "$dir"
}
