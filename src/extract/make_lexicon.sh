#!/usr/bin/env bash
# make_lexicon.sh: derives src/extract/gazetteer/lexicon.txt, the word
# lexicon behind the NER tagger's dictionary features, from two Debian
# packages: WordNet 3.0 (wordnet-base, /usr/share/wordnet; WordNet 3.0
# licence) and SCOWL's English word lists (wamerican-huge, wbritish-huge,
# /usr/share/dict; SCOWL licence).  Both licences are in docs/extract.md.
#
#   apt-get install wordnet-base wamerican-huge wbritish-huge
#   src/extract/make_lexicon.sh
#
# One line per lower-cased word (a single token: letters, digits, inner
# hyphens and apostrophes), then its classes:
#   l c u   the word lists spell it in lower case / capitalised / all capitals
#   P L O G W   WordNet has it capitalised in a noun synset of noun.person,
#           noun.location, noun.object (rivers, mountains), noun.group
#           (organizations, peoples), or another file (works, products...)
#   D       WordNet has it capitalised as an adjective (Danish, Canadian)
#   n v a r WordNet has it as a noun, verb, adjective, adverb
#   NN      the lexicographer file (0..44) of its first noun sense
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
wn=${WORDNET_DIR:-/usr/share/wordnet}
dict=${DICT_FILES:-/usr/share/dict/american-english-huge /usr/share/dict/british-english-huge}
out=$root/src/extract/gazetteer/lexicon.txt

LC_ALL=C awk -v wn="$wn" '
function hex(s,   i, v) {
	v = 0
	for (i = 1; i <= length(s); i++)
		v = v * 16 + index("0123456789abcdef", tolower(substr(s, i, 1))) - 1
	return v
}
function add(w, c) {
	if (w !~ /^[A-Za-z0-9]([A-Za-z0-9'"'"'-]*[A-Za-z0-9])?$/ || length(w) > 30) return
	w = tolower(w)
	if (index(cls[w], c) == 0) cls[w] = cls[w] c
}
BEGIN {
	split("W W W W W W W W W W W W W W G L W O P W W W W W W W W W W W W W W W W W W W W W W W W W W", proper, " ")
	while ((getline line < (wn "/data.noun")) > 0) {
		if (line ~ /^ /) continue
		n = split(line, f, " ")
		lex[f[1]] = f[2] + 0
		cnt = hex(f[4])
		for (i = 0; i < cnt; i++) {
			w = f[5 + 2 * i]
			sub(/\([a-z]+\)$/, "", w)
			if (w ~ /^[A-Z]/ && w !~ /_/) add(w, proper[f[2] + 1])
		}
	}
	while ((getline line < (wn "/data.adj")) > 0) {
		if (line ~ /^ /) continue
		n = split(line, f, " ")
		cnt = hex(f[4])
		for (i = 0; i < cnt; i++) {
			w = f[5 + 2 * i]
			sub(/\([a-z]+\)$/, "", w)
			if (w ~ /^[A-Z]/ && w !~ /_/) add(w, "D")
		}
	}
	pos["noun"] = "n"; pos["verb"] = "v"; pos["adj"] = "a"; pos["adv"] = "r"
	for (p in pos) {
		file = wn "/index." p
		while ((getline line < file) > 0) {
			if (line ~ /^ /) continue
			n = split(line, f, " ")
			if (f[1] ~ /_/) continue
			add(f[1], pos[p])
			if (p == "noun" && !(tolower(f[1]) in first)) first[tolower(f[1])] = lex[f[n - f[3] + 1]]
		}
	}
}
{
	w = $0
	sub(/'"'"'s$/, "", w)
	if (w == tolower(w)) add(w, "l")
	else if (w == toupper(w) && length(w) > 1) add(w, "u")
	else add(w, "c")
}
END {
	for (w in cls) {
		line = w " " cls[w]
		if (w in first) line = line " " first[w]
		print line
	}
}' $dict | LC_ALL=C sort >"$out.tmp"
{
	echo "# Derived by src/extract/make_lexicon.sh from WordNet 3.0 (Copyright 2006 by"
	echo "# Princeton University, WordNet 3.0 licence) and SCOWL (Copyright 2000-2011 by"
	echo "# Kevin Atkinson, SCOWL licence); see docs/extract.md."
	cat "$out.tmp"
} >"$out"
rm -f "$out.tmp"
echo "wrote $out ($(wc -l <"$out") lines, $(stat -c %s "$out") bytes)"
