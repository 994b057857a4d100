# shellcheck shell=bash
# scripts/_lib.sh — helpers sourced by the other scripts in scripts/ (not run on its own).
#   log MSG...          progress message on stderr, prefixed with the calling script's name
#   die MSG...          log an error and exit 1
#   as_root CMD...      run CMD as root (directly when root, else through sudo)
#   apt_update_once     `apt-get update` unless one ran in the last hour (stamp in /var/tmp)
#   apt_install PKG...  apt-get install -y --no-install-recommends PKG..., quiet unless it fails

MA_NAME="scripts/$(basename "$0")"

log() { printf '[%s] %s\n' "$MA_NAME" "$*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}

as_root() {
	if [[ $(id -u) -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "root needed for: $* (run as root or install sudo)"
	fi
}

MA_APT_STAMP=/var/tmp/mineaction-apt-update.stamp
MA_APT=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0)

apt_update_once() {
	if [[ ${1:-} != --force && -f $MA_APT_STAMP && -n $(find "$MA_APT_STAMP" -mmin -60 2>/dev/null) ]]; then
		return 0
	fi
	log "apt-get update"
	as_root "${MA_APT[@]}" -qq update || die "apt-get update failed"
	as_root touch "$MA_APT_STAMP"
}

apt_install() {
	local out t0
	out=$(mktemp)
	t0=$SECONDS
	apt_update_once
	log "apt-get install $* (needs a minute or two on a new machine)"
	if ! as_root "${MA_APT[@]}" install -y -q --no-install-recommends "$@" >"$out" 2>&1; then
		# Stale package lists give 404s: refresh once and retry.
		log "apt-get install failed; refreshing package lists and retrying"
		apt_update_once --force
		if ! as_root "${MA_APT[@]}" install -y -q --no-install-recommends "$@" >"$out" 2>&1; then
			tail -n 40 "$out" >&2
			rm -f "$out"
			die "apt-get install $* failed"
		fi
	fi
	rm -f "$out"
	log "installed $* in $((SECONDS - t0))s"
}
