# ner_corpus.awk: the CC-BY 4.0 NER corpora in ../shared/data/ner as rows
# (part, document, position, token, tag) for COPY (text format), with the
# labels renamed to aiml's (PER -> PERSON, LOC -> LOCATION, ORG, MISC).
#
#   awk -v corpus=btc -v part=btc-train -f ner_corpus.awk btc.train
#   awk -v corpus=wikigold -f ner_corpus.awk wikigold.conll.txt
#
# BTC is tab-separated BIO, one sentence (tweet) per blank-line block; lines
# without a label are skipped; a tweet is a document.  wikigold is
# space-separated IOB1 (the loader turns I- after another label into B-,
# which makes it BIO); each of its 145 articles is one document (its tokens
# numbered through, so sentences follow each other as in the article), and
# they are split: every fifth (the 5th, 10th, ...) is the held-out
# evaluation part "wikigold-test", the rest "wikigold-train".
function tag_of(t) {
	if (t == "") return "O"
	sub(/-PER$/, "-PERSON", t)
	sub(/-LOC$/, "-LOCATION", t)
	return t
}
function emit(p, d, tok, t) {
	gsub(/\\/, "\\\\\\\\", tok)
	printf "%s\t%s\t%d\t%s\t%s\n", p, d, ++pos, tok, tag_of(t)
}
BEGIN { sent = 0; pos = 0; docno = 0 }
corpus == "btc" {
	if ($0 == "") { sent++; pos = 0; next }
	n = split($0, f, "\t")
	if (n < 2 || f[2] == "") next
	emit(part, sprintf("%s-%05d", part, sent), f[1], f[2])
	next
}
corpus == "wikigold" {
	if ($1 == "-DOCSTART-") { docno++; pos = 0; next }
	if ($0 == "") next
	p = (docno % 5 == 0) ? "wikigold-test" : "wikigold-train"
	emit(p, sprintf("wg-%03d", docno), $1, $2)
}
