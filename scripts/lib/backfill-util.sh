# shellcheck shell=bash
# Sourced by scripts/backfill.sh, whose globals it reads and sets:
# shellcheck disable=SC2154
# Small helpers of scripts/backfill.sh: messages, JSON strings, URL components, durations.

say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { # die CODE MESSAGE...
	local code=$1
	shift
	say "$*"
	exit "$code"
}

# json_string S: S as a JSON string literal, quotes included.
json_string() {
	local s=$1 code ch
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\n'/\\n}
	s=${s//$'\r'/\\r}
	s=${s//$'\t'/\\t}
	for code in 1 2 3 4 5 6 7 8 11 12 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 127; do
		printf -v ch '%b' "\\0$(printf '%03o' "$code")"
		[[ $s == *"$ch"* ]] && s=${s//"$ch"/$(printf '\\u%04x' "$code")}
	done
	printf '"%s"' "$s"
}

# json_unescape S: the text of a JSON string literal's inside (\", \\, \n, \t, \uXXXX ...).
json_unescape() {
	local s=$1 out='' c i
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		if [[ $c == "\\" ]]; then
			i=$((i + 1))
			c=${s:i:1}
			case $c in
			n) c=$'\n' ;;
			t) c=$'\t' ;;
			r) c=$'\r' ;;
			u)
				printf -v c '%b' "\\u${s:i+1:4}"
				i=$((i + 4))
				;;
			esac
		fi
		out+=$c
	done
	printf '%s' "$out"
}

# url_component S: S percent-encoded (every byte but A-Z a-z 0-9 - _ . ~).
url_component() {
	local LC_ALL=C s=$1 out='' c i
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case $c in
		[A-Za-z0-9._~-]) out+=$c ;;
		*) out+=$(printf '%%%02X' "'$c") ;;
		esac
	done
	printf '%s' "$out"
}

# seconds_of D: D (N, Ns, Nm or Nh) in seconds.
seconds_of() {
	[[ $1 =~ ^([0-9]+)([smh]?)$ ]] || return 1
	local n=$((10#${BASH_REMATCH[1]}))
	case ${BASH_REMATCH[2]} in
	m) n=$((n * 60)) ;;
	h) n=$((n * 3600)) ;;
	esac
	printf '%s' "$n"
}
