/*
 * entities.c: aiml.extract_entities: rule-based entities (e-mail, URL, IP,
 * phone, date, time, money, percent, quantity, UUID, credit card, and
 * person / organization / location cues) plus the default NER model, with
 * one overlap rule, and the row output shared with aiml.ner.
 *
 * Each rule is a PCRE2 pattern (compiled with JIT once per backend) and a
 * handler that validates a match (Luhn, octets, calendar dates) and writes
 * its normalized form.  One scanner walks the text once for all rules: at
 * each character it picks the rules a match could start with there (by the
 * byte, the byte before it and a prefilter that looks a few bytes ahead)
 * and runs only their patterns, anchored; the matches are exactly those of
 * one unanchored scan per rule (see run_rules).  The gazetteer and the
 * tagger walk the text once more each, so the cost is linear in the text.
 *
 * Overlaps: candidates are taken longest first (in characters), then by
 * label priority (the order of label_names below), then leftmost, then
 * a rule's before the model's, then the higher score; a
 * candidate that overlaps one already taken is dropped.  Taken bytes are
 * marked in a bitmap, so each check costs the candidate's length.
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <math.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "extract/ner.h"
#include "extract/pattern.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/ascii.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

/* Labels in priority order (first wins a tie in length). */
static const char *const label_names[] = {
	"EMAIL", "URL", "UUID", "CREDIT_CARD", "IP", "PHONE", "MONEY", "PERCENT",
	"QUANTITY", "DATE", "TIME", "ORG", "PERSON", "LOCATION"
};

/* The numbers of the labels the gazetteer and the model give. */
#define LABEL_ORG 11
#define LABEL_PERSON 12
#define LABEL_LOCATION 13

#define NLABELS lengthof(label_names)

/* Index of a label name in label_names, or -1. */
static int
label_number(const char *name)
{
	for (int i = 0; i < (int) NLABELS; i++)
		if (strcmp(label_names[i], name) == 0)
			return i;
	return -1;
}

/* ---- one match of a rule ---- */

typedef struct RuleMatch
{
	const char *s;
	PCRE2_SIZE *ov;
	int			ngroups;
	int			start;			/* bytes; a handler may move end */
	int			end;
	char	   *text;			/* replacement text (masked card), or NULL */
	char	   *normalized;
	double		score;
	int			refj;			/* reference date, Julian day */
} RuleMatch;

typedef bool (*RuleHandler) (RuleMatch *m);

/* State of the scanner (see run_rules) that prefilters read. */
#define CERTAIN_GROUPS_MAX 5		/* group 0 and four */

typedef struct TextScan TextScan;

/*
 * A necessary condition for a match of a rule starting at byte p: false
 * only when the pattern provably cannot match there.
 */
typedef bool (*RulePrefilter) (TextScan *sc, int p);

/*
 * A rule: its label, pattern and handler, and the bytes a match cannot do
 * without ('0' stands for any digit), so a text without them skips the rule
 * without running its pattern; most short texts skip most rules.
 *
 * For the scanner: the ASCII bytes a match can start with (first; "a-z"
 * ranges), whether it can start with a non-ASCII character (a Unicode digit,
 * capital or currency sign), the ASCII characters that cannot come right
 * before a match (not_after: the pattern's lookbehind or \b), and a
 * prefilter that looks a few bytes ahead.
 */
/* What a match can start with when it starts with a non-ASCII character. */
typedef enum NonAsciiFirst
{
	NA_NONE,					/* nothing: the pattern's first characters are ASCII */
	NA_DIGIT,					/* a Unicode decimal digit (\d) only */
	NA_ANY						/* a letter, a currency sign... */
} NonAsciiFirst;

typedef struct Rule
{
	const char *label;
	const char *pattern;
	RuleHandler handler;
	const char *needs;
	const char *first;
	NonAsciiFirst non_ascii_first;
	const char *not_after;
	RulePrefilter maybe;
} Rule;

/* Group g of the match as (pointer, length); false when it did not take part. */
static bool
grp(const RuleMatch *m, int g, const char **p, int *n)
{
	*p = NULL;
	*n = 0;
	if (g >= m->ngroups || m->ov[2 * g] == PCRE2_UNSET)
		return false;
	*p = m->s + m->ov[2 * g];
	*n = (int) (m->ov[2 * g + 1] - m->ov[2 * g]);
	return true;
}

/* Group g as a new string, or NULL. */
static char *
grp_str(const RuleMatch *m, int g)
{
	const char *p;
	int			n;

	return grp(m, g, &p, &n) ? pnstrdup(p, n) : NULL;
}

/* A copy with ASCII letters lower-cased (domains and hex digits). */
static char *
lower_ascii(const char *p, int n)
{
	char	   *out = pnstrdup(p, n);

	for (int i = 0; i < n; i++)
		out[i] = pg_ascii_tolower((unsigned char) out[i]);
	return out;
}

/* E-mail addresses are case-insensitive in practice: normalized lower-case. */
static bool
rule_email(RuleMatch *m)
{
	m->normalized = lower_ascii(m->s + m->start, m->end - m->start);
	return true;
}

/* Trailing punctuation belongs to the sentence, not the URL. */
static bool
rule_url(RuleMatch *m)
{
	while (m->end > m->start && strchr(".,;:!?)]}'\"", m->s[m->end - 1]) != NULL)
		m->end--;
	if (m->end - m->start < 8)
		return false;
	m->normalized = pg_strncasecmp(m->s + m->start, "www.", 4) == 0
		? psprintf("http://%.*s", m->end - m->start, m->s + m->start)
		: pnstrdup(m->s + m->start, m->end - m->start);
	return true;
}

/* UUIDs are normalized lower-case, as PostgreSQL's uuid type prints them. */
static bool
rule_uuid(RuleMatch *m)
{
	m->normalized = lower_ascii(m->s + m->start, m->end - m->start);
	return true;
}

/*
 * Normalized dates, times and addresses are written by hand: psprintf was a
 * tenth of the time on log lines, where nearly every line has all three.
 * Each writes what the printf format in its comment writes.
 */
static inline char *
put2(char *out, int v)
{
	out[0] = '0' + v / 10;
	out[1] = '0' + v % 10;
	return out + 2;
}

/* "%04d-%02d-%02d" */
static char *
ymd_string(int y, int mo, int d)
{
	char	   *out,
			   *o;

	if (y < 0 || y > 9999 || mo < 0 || mo > 99 || d < 0 || d > 99)
		return psprintf("%04d-%02d-%02d", y, mo, d);
	o = out = palloc(11);
	o = put2(o, y / 100);
	o = put2(o, y % 100);
	*o++ = '-';
	o = put2(o, mo);
	*o++ = '-';
	o = put2(o, d);
	*o = '\0';
	return out;
}

/* "%02d:%02d:%02d" */
static char *
hms_string(int h, int mi, int se)
{
	char	   *out,
			   *o;

	if (h < 0 || h > 99 || mi < 0 || mi > 99 || se < 0 || se > 99)
		return psprintf("%02d:%02d:%02d", h, mi, se);
	o = out = palloc(9);
	o = put2(o, h);
	*o++ = ':';
	o = put2(o, mi);
	*o++ = ':';
	o = put2(o, se);
	*o = '\0';
	return out;
}

/* "%d.%d.%d.%d" of four octets 0..255 at p (NUL-terminated); its end. */
static char *
ipv4_write(const int *o, char *p)
{
	for (int k = 0; k < 4; k++)
	{
		Assert(o[k] >= 0 && o[k] <= 255);
		if (o[k] >= 100)
			*p++ = '0' + o[k] / 100;
		if (o[k] >= 10)
			*p++ = '0' + o[k] / 10 % 10;
		*p++ = '0' + o[k] % 10;
		*p++ = k < 3 ? '.' : '\0';
	}
	return p - 1;
}

static char *
ipv4_string(const int *o)
{
	char	   *out = palloc(16);

	ipv4_write(o, out);
	return out;
}

/*
 * The text of an IPv6 address as glibc's inet_ntop writes it, without its
 * sprintf per group: lower-case groups without leading zeros, the longest
 * run of two or more zero groups (the first of equal ones) as ::, and the
 * last 32 bits as a dotted quad after ::ffff: or after six zero groups.
 */
static char *
ipv6_string(const struct in6_addr *addr)
{
	const unsigned char *b = addr->s6_addr;
	char	   *out = palloc(INET6_ADDRSTRLEN),
			   *o = out;
	unsigned	w[8];
	int			best = -1,
				best_len = 0,
				cur = -1,
				cur_len = 0;

	for (int i = 0; i < 8; i++)
	{
		w[i] = (b[2 * i] << 8) | b[2 * i + 1];
		if (w[i] != 0)
			cur = -1;
		else
		{
			if (cur < 0)
				cur = i, cur_len = 0;
			if (++cur_len > best_len)
				best = cur, best_len = cur_len;
		}
	}
	if (best_len < 2)
		best = -1;
	for (int i = 0; i < 8; i++)
	{
		if (best >= 0 && i >= best && i < best + best_len)
		{
			if (i == best)
				*o++ = ':';
			continue;
		}
		if (i != 0)
			*o++ = ':';
		if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)))
		{
			int			q[4] = {b[12], b[13], b[14], b[15]};

			ipv4_write(q, o);
			return out;
		}
		for (int shift = 12, started = 0; shift >= 0; shift -= 4)
		{
			int			d = (w[i] >> shift) & 0xf;

			if (d != 0 || started || shift == 0)
			{
				*o++ = "0123456789abcdef"[d];
				started = 1;
			}
		}
	}
	if (best >= 0 && best + best_len == 8)
		*o++ = ':';
	*o = '\0';
	return out;
}

/* The Luhn check of n ASCII digits. */
static bool
luhn_valid(const char *digits, int n)
{
	int			sum = 0;

	for (int i = 0; i < n; i++)
	{
		int			d = digits[n - 1 - i] - '0';

		if (i % 2 == 1)
			d = d * 2 > 9 ? d * 2 - 9 : d * 2;
		sum += d;
	}
	return sum % 10 == 0;
}

/* Luhn check over 13 to 19 digits; text and normalized keep the last 4 only. */
static bool
rule_card(RuleMatch *m)
{
	char		digits[32];
	int			n = 0;
	char	   *masked;

	for (int i = m->start; i < m->end; i++)
		if (isdigit((unsigned char) m->s[i]) && n < (int) sizeof(digits) - 1)
			digits[n++] = m->s[i];
	if (n < 13 || n > 19 || !luhn_valid(digits, n))
		return false;
	masked = pnstrdup(m->s + m->start, m->end - m->start);
	for (int i = 0, seen = 0; masked[i]; i++)
		if (isdigit((unsigned char) masked[i]) && seen++ < n - 4)
			masked[i] = '*';
	m->text = masked;
	for (int i = 0; i < n - 4; i++)
		digits[i] = '*';
	digits[n] = '\0';
	m->normalized = pstrdup(digits);
	return true;
}

/*
 * Each octet must be at most 255; leading zeros are dropped.  The text is
 * not NUL-terminated (a varlena's bytes): the digits are read up to the
 * match's end only, or an address at the very end of a text would take in
 * whatever bytes follow it in memory.
 */
static bool
rule_ipv4(RuleMatch *m)
{
	int			o[4];
	const char *p = m->s + m->start;
	const char *end = m->s + m->end;

	for (int k = 0; k < 4; k++)
	{
		o[k] = 0;
		for (; p < end && isdigit((unsigned char) *p); p++)
			o[k] = o[k] * 10 + (*p - '0');
		if (o[k] > 255)
			return false;
		p++;
	}
	m->normalized = ipv4_string(o);
	return true;
}

/* inet_pton decides what is an IPv6 address; ipv6_string gives its canonical form. */
static bool
rule_ipv6(RuleMatch *m)
{
	char		buf[INET6_ADDRSTRLEN + 1];
	struct in6_addr addr;
	int			n = m->end - m->start;

	if (n >= (int) sizeof(buf))
		return false;
	memcpy(buf, m->s + m->start, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET6, buf, &addr) != 1)
		return false;
	m->normalized = ipv6_string(&addr);
	return true;
}

/* The digits of p into out (at most max); -1 when there are more. */
static int
digits_of(const char *p, int n, char *out, int max)
{
	int			k = 0;

	for (int i = 0; i < n; i++)
		if (isdigit((unsigned char) p[i]))
		{
			if (k == max)
				return -1;
			out[k++] = p[i];
		}
	out[k] = '\0';
	return k;
}

/* +CC...: E.164 allows at most 15 digits. */
static bool
rule_phone_intl(RuleMatch *m)
{
	char		d[24];
	int			n = digits_of(m->s + m->start, m->end - m->start, d, 20);

	if (n < 8 || n > 15)
		return false;
	m->normalized = psprintf("+%s", d);
	return true;
}

/* North American numbers: (NXX) NXX-XXXX, country code 1. */
static bool
rule_phone_nanp(RuleMatch *m)
{
	char		d[24];
	int			n = digits_of(m->s + m->start, m->end - m->start, d, 20);
	const char *ten = n == 11 ? d + 1 : d;

	if (!(n == 10 || (n == 11 && d[0] == '1')) || ten[0] < '2' || ten[3] < '2')
		return false;
	m->normalized = psprintf("+1%s", ten);
	m->score = 0.9;
	return true;
}

/* An amount ("1,234.50") times a multiplier word, as a decimal string. */
static char *
amount_string(const char *p, int n, const char *mult)
{
	char		buf[64];
	int			k = 0;
	double		v;
	double		factor = 1;

	for (int i = 0; i < n && k < (int) sizeof(buf) - 1; i++)
		if (p[i] != ',')
			buf[k++] = p[i];
	buf[k] = '\0';
	if (mult != NULL)
	{
		if (strcmp(mult, "k") == 0 || strcmp(mult, "K") == 0 || strcmp(mult, "thousand") == 0)
			factor = 1e3;
		else if (strcmp(mult, "m") == 0 || strcmp(mult, "M") == 0 || strcmp(mult, "mn") == 0 ||
				 strcmp(mult, "million") == 0)
			factor = 1e6;
		else if (strcmp(mult, "bn") == 0 || strcmp(mult, "billion") == 0)
			factor = 1e9;
		else if (strcmp(mult, "trillion") == 0)
			factor = 1e12;
	}
	if (factor == 1)
		return pstrdup(buf);
	v = strtod(buf, NULL) * factor;
	if (v == floor(v) && v < 1e17)
		return psprintf("%.0f", v);
	return psprintf("%.2f", v);
}

/* ISO 4217 code of a currency sign or word, or NULL when it is already a code. */
static const char *
currency_code(const char *p, int n)
{
	static const struct
	{
		const char *sym;
		const char *code;
	}			map[] = {
		{"US$", "USD"}, {"$", "USD"}, {"\u20ac", "EUR"}, {"\u00a3", "GBP"}, {"\u00a5", "JPY"},
		{"\u20b9", "INR"}, {"dollar", "USD"}, {"dollars", "USD"}, {"euro", "EUR"},
		{"euros", "EUR"}, {"pounds sterling", "GBP"}, {"yen", "JPY"}, {"RMB", "CNY"},
	};

	for (int i = 0; i < (int) lengthof(map); i++)
		if (strlen(map[i].sym) == n && memcmp(map[i].sym, p, n) == 0)
			return map[i].code;
	return NULL;
}

/* MONEY from its currency, amount and multiplier groups. */
static bool
money(RuleMatch *m, int cur_group, int amount_group, int mult_group)
{
	const char *c,
			   *a;
	int			cn,
				an;
	const char *code;

	if (!grp(m, cur_group, &c, &cn) || !grp(m, amount_group, &a, &an))
		return false;
	code = currency_code(c, cn);
	m->normalized = psprintf("%s %s", amount_string(a, an, grp_str(m, mult_group)),
							 code ? code : pnstrdup(c, cn));
	return true;
}

/* A sign before the amount: $12, EUR 5. */
static bool
rule_money_symbol(RuleMatch *m)
{
	return money(m, 1, 2, 3);
}

/* A code before the amount: USD 200. */
static bool
rule_money_code_first(RuleMatch *m)
{
	return money(m, 1, 2, 3);
}

/* A code or word after the amount: 40 EUR, 5 dollars. */
static bool
rule_money_code_after(RuleMatch *m)
{
	return money(m, 3, 1, 2);
}

/* The number of percent, without a plus sign. */
static bool
rule_percent(RuleMatch *m)
{
	char	   *v = grp_str(m, 1);

	m->normalized = v[0] == '+' ? pstrdup(v + 1) : v;
	return true;
}

/* "1990s" is a decade, not 1990 seconds. */
static bool
rule_quantity(RuleMatch *m)
{
	const char *num,
			   *unit;
	int			nn,
				un;

	if (!grp(m, 1, &num, &nn) || !grp(m, 2, &unit, &un))
		return false;
	if (un == 1 && unit[0] == 's' && nn == 4 && unit == num + nn)
		return false;
	/* "%.*s %.*s" */
	m->normalized = palloc(nn + 1 + un + 1);
	memcpy(m->normalized, num, nn);
	m->normalized[nn] = ' ';
	memcpy(m->normalized + nn + 1, unit, un);
	m->normalized[nn + 1 + un] = '\0';
	return true;
}

/* Group g as a number (at most 9 digits), or dflt when it did not take part. */
static int
grp_int(const RuleMatch *m, int g, int dflt)
{
	const char *p;
	int			n,
				v = 0;

	if (!grp(m, g, &p, &n))
		return dflt;
	for (int i = 0; i < n && i < 9; i++)
		v = v * 10 + (p[i] - '0');
	return v;
}

/* A date that exists in the proleptic Gregorian calendar, years 1 to 9999. */
static bool
valid_date(int y, int mo, int d)
{
	return y >= 1 && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1 &&
		d <= day_tab[isleap(y)][mo - 1];
}

/* ISO 8601 dates and timestamps, checked against the calendar. */
static bool
rule_date_iso(RuleMatch *m)
{
	int			y = grp_int(m, 1, 0),
				mo = grp_int(m, 2, 0),
				d = grp_int(m, 3, 0);
	char	   *tz = grp_str(m, 7);

	if (!valid_date(y, mo, d))
		return false;
	if (grp_int(m, 4, -1) < 0)
		m->normalized = ymd_string(y, mo, d);
	else
	{
		int			h = grp_int(m, 4, 0),
					mi = grp_int(m, 5, 0),
					se = grp_int(m, 6, 0),
					nz = tz ? strlen(tz) : 0;

		if (h > 23 || mi > 59 || se > 60)
			return false;
		/* "%04d-%02d-%02dT%02d:%02d:%02d%s": a valid date has 10 characters */
		m->normalized = palloc(19 + nz + 1);
		memcpy(m->normalized, ymd_string(y, mo, d), 10);
		m->normalized[10] = 'T';
		memcpy(m->normalized + 11, hms_string(h, mi, se), 8);
		memcpy(m->normalized + 19, tz ? tz : "", nz + 1);
	}
	return true;
}

/* a/b/yyyy: month first (US) unless the first number cannot be a month. */
static bool
rule_date_slash(RuleMatch *m)
{
	int			a = grp_int(m, 1, 0),
				b = grp_int(m, 2, 0),
				y = grp_int(m, 3, 0);
	const char *yp;
	int			yn;

	if (grp(m, 3, &yp, &yn) && yn == 2)
		y += y < 70 ? 2000 : 1900;
	if (a > 12)
	{
		int			t = a;

		a = b;
		b = t;
	}
	if (!valid_date(y, a, b))
		return false;
	m->normalized = ymd_string(y, a, b);
	m->score = 0.9;
	return true;
}

/* Month 1..12 of an English month name or abbreviation, 0 when none. */
static int
month_number(const char *p, int n)
{
	static const char *const names[] = {"jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec"};

	for (int i = 0; i < 12; i++)
		if (n >= 3 && pg_strncasecmp(p, names[i], 3) == 0)
			return i + 1;
	return 0;
}

/* Year of the reference date, for dates written without one. */
static int
reference_year(const RuleMatch *m)
{
	int			y,
				mo,
				d;

	j2date(m->refj, &y, &mo, &d);
	return y;
}

/* A date written with a month name. */
static bool
month_date(RuleMatch *m, int day_group, int month_group, int year_group)
{
	const char *mp;
	int			mn;
	int			d = grp_int(m, day_group, 0);
	int			y = grp_int(m, year_group, reference_year(m));
	int			mo;

	grp(m, month_group, &mp, &mn);
	mo = month_number(mp, mn);
	if (!valid_date(y, mo, d))
		return false;
	m->normalized = ymd_string(y, mo, d);
	return true;
}

/* 5 Jan 2025. */
static bool
rule_date_dmy(RuleMatch *m)
{
	return month_date(m, 1, 2, 3);
}

/* January 5, 2025 and Jan 5. */
static bool
rule_date_mdy(RuleMatch *m)
{
	return month_date(m, 2, 1, 3);
}

/* A count written as digits or as an English word (a, an, one ... twelve). */
static int
number_word(const char *p, int n)
{
	static const char *const words[] = {"a", "one", "two", "three", "four", "five",
		"six", "seven", "eight", "nine", "ten", "eleven", "twelve"};

	if (isdigit((unsigned char) p[0]))
		return atoi(pnstrdup(p, n));
	if (n == 2 && pg_strncasecmp(p, "an", 2) == 0)
		return 1;
	for (int i = 0; i < (int) lengthof(words); i++)
		if (strlen(words[i]) == n && pg_strncasecmp(p, words[i], n) == 0)
			return i == 0 ? 1 : i;
	return 0;
}

/* Julian day j moved by months (day clamped to the month's length). */
static int
add_months(int j, int months)
{
	int			y,
				mo,
				d,
				total;

	j2date(j, &y, &mo, &d);
	total = y * 12 + (mo - 1) + months;
	y = total / 12;
	mo = total % 12 + 1;
	if (y < 1 || y > 9999)
		return j;
	d = Min(d, day_tab[isleap(y)][mo - 1]);
	return date2j(y, mo, d);
}

/* Julian day j moved by count units (day, week, month, year). */
static int
move_by(int j, const char *unit, int count)
{
	switch (pg_ascii_tolower((unsigned char) unit[0]))
	{
		case 'd':
			return j + count;
		case 'w':
			return j + 7 * count;
		case 'm':
			return add_months(j, count);
		default:
			return add_months(j, 12 * count);
	}
}

/* Day of the week of an English day name, 0 = Sunday as j2day counts. */
static int
weekday_number(const char *p)
{
	static const char *const days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

	for (int i = 0; i < 7; i++)
		if (pg_strncasecmp(p, days[i], 3) == 0)
			return i;
	return -1;
}

/*
 * today, yesterday, tomorrow; next/last/this week, month, year or weekday
 * ("next Monday" is the first Monday after the reference day, "last Monday"
 * the last one before it, "this Monday" the one of the reference week,
 * Monday first); N days/weeks/months/years ago or from now; in N units.
 */
static bool
rule_date_relative(RuleMatch *m)
{
	char	   *word = grp_str(m, 1);
	char	   *which = grp_str(m, 2);
	int			j = m->refj;

	if (word)
	{
		if (pg_strcasecmp(word, "yesterday") == 0)
			j--;
		else if (pg_strcasecmp(word, "tomorrow") == 0)
			j++;
	}
	else if (which)
	{
		char	   *what = grp_str(m, 3);
		int			wd = weekday_number(what);
		int			dir = pg_strcasecmp(which, "next") == 0 ? 1 :
			pg_strcasecmp(which, "last") == 0 ? -1 : 0;

		if (wd < 0 || strlen(what) <= 5)
		{
			if (pg_strncasecmp(what, "week", 4) == 0 || pg_strncasecmp(what, "month", 5) == 0 ||
				pg_strncasecmp(what, "year", 4) == 0)
				j = move_by(j, what, dir);
		}
		if (wd >= 0 && strlen(what) > 5)
		{
			int			today = j2day(j);

			if (dir > 0)
				j += (wd - today + 6) % 7 + 1;
			else if (dir < 0)
				j -= (today - wd + 6) % 7 + 1;
			else
				j += ((wd + 6) % 7) - ((today + 6) % 7);
		}
	}
	else if (grp_str(m, 4))
	{
		const char *np;
		int			nn;
		char	   *dir = grp_str(m, 6);

		grp(m, 4, &np, &nn);
		j = move_by(j, grp_str(m, 5), number_word(np, nn) * (pg_strcasecmp(dir, "ago") == 0 ? -1 : 1));
	}
	else
	{
		const char *np;
		int			nn;

		grp(m, 7, &np, &nn);
		j = move_by(j, grp_str(m, 8), number_word(np, nn));
	}
	{
		int			y,
					mo,
					d;

		j2date(j, &y, &mo, &d);
		m->normalized = ymd_string(y, mo, d);
	}
	m->score = 0.9;
	return true;
}

/* An hour of a 12-hour clock with am/pm on the 24-hour clock. */
static int
hour_24(int h, const char *ampm)
{
	if (ampm == NULL)
		return h;
	if (pg_ascii_tolower((unsigned char) ampm[0]) == 'p')
		return h % 12 + 12;
	return h % 12;
}

/* HH:MM[:SS] [am|pm]. */
static bool
rule_time_colon(RuleMatch *m)
{
	int			h = grp_int(m, 1, 0);
	char	   *ampm = grp_str(m, 4);

	if (ampm && (h < 1 || h > 12))
		return false;
	m->normalized = hms_string(hour_24(h, ampm), grp_int(m, 2, 0), grp_int(m, 3, 0));
	return true;
}

/* 7 pm, 11am. */
static bool
rule_time_ampm(RuleMatch *m)
{
	m->normalized = psprintf("%02d:00:00", hour_24(grp_int(m, 1, 0), grp_str(m, 2)));
	m->score = 0.9;
	return true;
}

/* A title and a name: the name alone is the normalized form. */
static bool
rule_person_title(RuleMatch *m)
{
	m->normalized = grp_str(m, 1);
	m->score = 0.9;
	return true;
}

/* The name before the suffix must start with a capital word. */
static bool
rule_org_suffix(RuleMatch *m)
{
	const char *p;
	int			n;

	if (!grp(m, 1, &p, &n) || !ner_is_upper_at(p, n, GetDatabaseEncoding() == PG_UTF8))
		return false;
	m->normalized = pnstrdup(m->s + m->start, m->end - m->start);
	m->score = 0.9;
	return true;
}

/* University of X and the like. */
static bool
rule_org_of(RuleMatch *m)
{
	m->normalized = pnstrdup(m->s + m->start, m->end - m->start);
	m->score = 0.9;
	return true;
}

/* X University and the like. */
static bool
rule_org_named(RuleMatch *m)
{
	return rule_org_of(m);
}

/* City, ST with a US state code. */
static bool
rule_city_state(RuleMatch *m)
{
	m->normalized = pnstrdup(m->s + m->start, m->end - m->start);
	m->score = 0.9;
	return true;
}

/* ---- the scanner's prefilters ---- */

/*
 * The scanner (run_rules) tries a rule's pattern, anchored, only at the
 * positions where its prefilter says a match may start.  A prefilter reads
 * ASCII only: on any non-ASCII byte it answers "maybe" and leaves the
 * decision to PCRE2, because with PCRE2_UCP \d, \s, \w and \p{Lu} also
 * match non-ASCII characters (and caseless s matches U+017F).  So each
 * answer "no" holds for the pattern as PCRE2 reads it, and the matches are
 * those of a scan of the whole text with the pattern.
 *
 * Three rules need a word far ahead (a company suffix, "University", ", ST"):
 * their prefilters ask for the next such word (all of them are found in one
 * pass, at the first question) and the next character that cannot occur
 * inside the name (kept in TextScan and only moved forward), so they cost a
 * pass or two over the text in all.
 */

/* Positions in a text, ascending, read by questions that never go back. */
typedef struct WordPositions
{
	int		   *pos;
	int			n;
	int			cap;
	int			at;				/* pos[at] is the first one not yet passed */
} WordPositions;

struct TextScan
{
	const char *s;
	int			len;
	int			org_break;		/* next byte >= the asking p that ends an ORG name */
	int			name_break;		/* same for the capitalized names of the rules */
	bool		org_words_found;	/* the two below are filled */
	WordPositions suffixes;		/* where company suffixes start */
	WordPositions named;		/* where University, College... start */
	bool		state_commas_found;	/* the one below is filled */
	WordPositions state_commas;	/* commas a state code follows (or may) */
	int			next_at;		/* the next @ (len: none), -1 before the first question */
	int			local_start;	/* where the run of e-mail local bytes before it starts */
	int			rejected_end;	/* set by a prefilter that knows no match the handler
								 * takes starts before here: the rule resumes here */
	int			certain_end;	/* set by a prefilter that read the whole match, to
								 * here: the pattern need not run */
	int			certain_groups; /* and, when it also read the groups, their number
								 * with group 0 and their bounds */
	PCRE2_SIZE	certain_ov[2 * CERTAIN_GROUPS_MAX];
	int			number_at;		/* number_end's last question, and its answers */
	int			number_end[2];
	bool		number_hi[2];
};

#define AT(sc, i) ((i) < (sc)->len ? (unsigned char) (sc)->s[i] : 0)
#define HI(c) ((c) >= 0x80)
#define DIGIT(c) ((c) >= '0' && (c) <= '9')
#define SPACE(c) ((c) == ' ' || ((c) >= '\t' && (c) <= '\r'))
#define LETTER(c) (((c) | 0x20) >= 'a' && ((c) | 0x20) <= 'z')
#define WORDCHAR(c) (LETTER(c) || DIGIT(c) || (c) == '_')
#define HEX(c) (DIGIT(c) || (((c) | 0x20) >= 'a' && ((c) | 0x20) <= 'f'))

/*
 * A non-ASCII character before p: the pattern's lookbehind or \b decides
 * (\w and \d match some), so a prefilter that sets certain_end or
 * rejected_end answers "maybe" there.
 */
#define AFTER_NON_ASCII(sc, p) ((p) > 0 && HI((unsigned char) (sc)->s[(p) - 1]))

/* Byte classes of the prefilters, bits of byte_class[] (built with the rules). */
#define BC_EMAIL	0x01		/* [A-Za-z0-9._%+-] */
#define BC_SEP		0x02		/* [ .-]: phone separators */
#define BC_CURRENCY 0x04		/* first letters of currency codes and words */
#define BC_NAME		0x10		/* inside capitalized names: letters ' - space, non-ASCII */
#define BC_ORG_NAME 0x20		/* the same, digits & and comma */
#define BC_TITLE_END 0x40		/* after a title: . or space */
#define BC_SPACE	0x80
#define BC_UNIT_END 0x100		/* ASCII but [A-Za-z0-9_/], and 0 (the end) */

static uint32 byte_class[256];

/* The bytes of spec ("A-Za-z0-9._-": ranges and single bytes) as a set. */
static void
spec_bytes(const char *spec, bool *set)
{
	memset(set, 0, 256 * sizeof(bool));
	for (const unsigned char *c = (const unsigned char *) spec; *c; c++)
	{
		if (c[1] == '-' && c[2] != '\0')
		{
			for (int b = c[0]; b <= c[2]; b++)
				set[b] = true;
			c += 2;
		}
		else
			set[*c] = true;
	}
}

/* Sets bit in the entries of masks[] of the bytes of spec. */
static void
mark_bytes(uint32 *masks, const char *spec, uint32 bit)
{
	bool		set[256];

	spec_bytes(spec, set);
	for (int b = 0; b < 256; b++)
		if (set[b])
			masks[b] |= bit;
}

/* Fills byte_class[]. */
static void
init_byte_classes(void)
{
	const char *space = " \t\n\v\f\r";

	memset(byte_class, 0, sizeof(byte_class));
	mark_bytes(byte_class, "A-Za-z0-9._%+-", BC_EMAIL);
	mark_bytes(byte_class, " .-", BC_SEP);
	mark_bytes(byte_class, "UEGJCANRISDPBMZKHTdepy", BC_CURRENCY);
	mark_bytes(byte_class, "A-Za-z'-", BC_NAME | BC_ORG_NAME);
	mark_bytes(byte_class, space, BC_NAME | BC_ORG_NAME | BC_TITLE_END | BC_SPACE);
	mark_bytes(byte_class, "0-9&,", BC_ORG_NAME);
	mark_bytes(byte_class, ".", BC_TITLE_END);
	for (int b = 0x80; b < 256; b++)
		byte_class[b] |= BC_NAME | BC_ORG_NAME;
	for (int b = 0; b < 0x80; b++)
		if (!WORDCHAR(b) && b != '/')
			byte_class[b] |= BC_UNIT_END;
}

#define IS(c, bc) ((byte_class[(unsigned char) (c)] & (bc)) != 0)

/*
 * Position after a run of [0-9.] (and , when commas) from p; *hi when a
 * non-ASCII byte ends it.  Three rules ask at each number: the last answer
 * of each kind is kept.
 */
static int
number_end(TextScan *sc, int p, bool commas, bool *hi)
{
	int			q = p,
				first_comma = -1;

	if (sc->number_at != p)
	{
		/* one scan answers both: without commas the run ends at the first */
		while (q < sc->len && (DIGIT(sc->s[q]) || sc->s[q] == '.' || sc->s[q] == ','))
		{
			if (sc->s[q] == ',' && first_comma < 0)
				first_comma = q;
			q++;
		}
		sc->number_at = p;
		sc->number_end[1] = q;
		sc->number_hi[1] = HI(AT(sc, q));
		sc->number_end[0] = first_comma >= 0 ? first_comma : q;
		sc->number_hi[0] = first_comma >= 0 ? false : sc->number_hi[1];
	}
	*hi = sc->number_hi[commas];
	return sc->number_end[commas];
}

/* The position after an optional ASCII space at p (a pattern's \s?). */
static int
past_space(TextScan *sc, int p)
{
	return SPACE(AT(sc, p)) ? p + 1 : p;
}

/* -1: n ASCII digits from p, 0: not, 1: a non-ASCII byte among them. */
static int
digits_at(TextScan *sc, int p, int n)
{
	for (int i = 0; i < n; i++)
	{
		int			c = AT(sc, p + i);

		if (HI(c))
			return 1;
		if (!DIGIT(c))
			return 0;
	}
	return -1;
}

/*
 * A NULL-terminated word list with the lengths of its words and the bytes
 * they start with, filled at first use: word_at runs at nearly every word of
 * a text, and most words start with a byte that no word of the list starts
 * with.
 */
typedef struct WordList
{
	const char *const *words;
	bool		ready;
	uint8		len[128];
	uint8		by_first[128];	/* word numbers grouped by first byte, in list order */
	uint8		from[256];		/* the group of first byte b: by_first[from[b]..to[b]) */
	uint8		to[256];
	bool		first[256];		/* from[b] < to[b] */
} WordList;

static void
word_list_init(WordList *wl)
{
	int			k = 0;

	for (int i = 0; wl->words[i]; i++)
	{
		Assert(i < (int) lengthof(wl->len) && strlen(wl->words[i]) < 256);
		wl->len[i] = (uint8) strlen(wl->words[i]);
	}
	for (int b = 0; b < 256; b++)
	{
		wl->from[b] = k;
		for (int i = 0; wl->words[i]; i++)
			if ((unsigned char) wl->words[i][0] == b)
				wl->by_first[k++] = i;
		wl->to[b] = k;
		wl->first[b] = wl->to[b] > wl->from[b];
	}
	wl->ready = true;
}

/*
 * The length of one of the words of wl at p, followed by a byte of class
 * then (or any non-ASCII byte); then 0: followed by a non-word byte or the
 * end.  0 when there is none.
 */
static int
word_len_at(TextScan *sc, int p, WordList *wl, uint32 then)
{
	if (!wl->ready)
		word_list_init(wl);
	if (p >= sc->len || !wl->first[(unsigned char) sc->s[p]])
		return 0;
	for (int k = wl->from[(unsigned char) sc->s[p]]; k < wl->to[(unsigned char) sc->s[p]]; k++)
	{
		int			i = wl->by_first[k];
		int			n,
					j;
		int			c;

		n = wl->len[i];
		if (p + n > sc->len)
			continue;
		/* the first byte matches; the words are short, so no memcmp call */
		for (j = 1; j < n && sc->s[p + j] == wl->words[i][j]; j++)
			;
		if (j < n)
			continue;
		c = AT(sc, p + n);
		if (HI(c) || (then == 0 ? !WORDCHAR(c) : IS(c, then)))
			return n;
	}
	return 0;
}

static inline bool
word_at(TextScan *sc, int p, WordList *wl, uint32 then)
{
	return word_len_at(sc, p, wl, then) > 0;
}

/* The letters from p lower-cased into buf (at most max); -1 on a non-ASCII byte. */
static int
lower_word(TextScan *sc, int p, char *buf, int max)
{
	int			n = 0;
	int			c;

	while ((c = AT(sc, p + n)) != 0 && LETTER(c))
	{
		if (n == max)
			return 0;
		buf[n++] = c | 0x20;
	}
	if (HI(c))
		return -1;
	buf[n] = '\0';
	return n;
}

#define DOMAIN_BYTE(c) (LETTER(c) || DIGIT(c) || (c) == '-')

/*
 * The domain of an e-mail address at q, as the pattern reads it
 * ([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b): its labels are taken
 * greedily and given back from the last, so the match ends after the
 * letters of the last label that has two or more of them and no digit or
 * underscore right after them.  Sets certain_end; false when there is no
 * domain.  A non-ASCII byte after the letters leaves the \b to the pattern
 * (true).
 */
static bool
email_domain(TextScan *sc, int q)
{
	int			dots[64];
	int			ndots = 0;

	if (!DOMAIN_BYTE(AT(sc, q)))
		return false;
	while (DOMAIN_BYTE(AT(sc, q)))
		q++;
	while (AT(sc, q) == '.' && DOMAIN_BYTE(AT(sc, q + 1)))
	{
		if (ndots == lengthof(dots))
			return true;		/* rare enough for the pattern */
		dots[ndots++] = q++;
		while (DOMAIN_BYTE(AT(sc, q)))
			q++;
	}
	while (ndots > 0)
	{
		int			e = dots[--ndots] + 1;
		int			c;

		while (LETTER(AT(sc, e)))
			e++;
		c = AT(sc, e);
		if (e - dots[ndots] - 1 < 2 || (!HI(c) && WORDCHAR(c)))
			continue;
		if (HI(c))
			return true;
		sc->certain_end = e;
		return true;
	}
	return false;
}

/*
 * The bytes from p up to the next @ are all of the local part's class: the
 * next @ and where the run of such bytes before it starts are kept, so each
 * word is not scanned again, and the scan skips to that run (rejected_end).
 * Then the domain is read (email_domain): the pattern need not run.
 */
static bool
pf_email(TextScan *sc, int p)
{
	if (sc->next_at < p)
	{
		const char *at = memchr(sc->s + p, '@', sc->len - p);

		sc->next_at = at ? at - sc->s : sc->len;
		sc->local_start = sc->next_at;
		while (sc->local_start > 0 && IS(sc->s[sc->local_start - 1], BC_EMAIL))
			sc->local_start--;
	}
	if (p < sc->local_start || sc->next_at == sc->len)
	{
		sc->rejected_end = sc->next_at < sc->len ? sc->local_start : sc->len;
		return false;
	}
	if (AFTER_NON_ASCII(sc, p) || email_domain(sc, sc->next_at + 1))
		return true;
	/* a match starting later in the local part would have the same domain */
	sc->rejected_end = sc->next_at + 1;
	return false;
}

/*
 * A scheme, then bytes up to a space, <, > or ": the whole match when they
 * are ASCII (certain_end); \s also matches Unicode spaces.
 */
static bool
pf_url(TextScan *sc, int p)
{
	static const char *const schemes[] = {"http://", "https://", "ftp://", "www.", NULL};

	if (AFTER_NON_ASCII(sc, p))
		return true;
	for (int i = 0; schemes[i]; i++)
	{
		int			n = strlen(schemes[i]);
		int			q = p + n;
		int			c;

		if (schemes[i][0] != sc->s[p] || q > sc->len || memcmp(sc->s + p, schemes[i], n) != 0)
			continue;
		while ((c = AT(sc, q)) != 0 && !HI(c) && !SPACE(c) && c != '<' && c != '>' && c != '"')
			q++;
		if (HI(c))
			return true;
		if (q == p + n)
			return false;		/* [^\s<>"]+ needs a byte */
		sc->certain_end = q;
		return true;
	}
	return false;
}

/* 8-4-4-4-12 hex digits, then no word byte: the whole match (certain_end). */
static bool
pf_uuid(TextScan *sc, int p)
{
	static const int groups[] = {8, 4, 4, 4, 12};
	int			c;

	/* the dashes first: most hex words are no UUID */
	if (AT(sc, p + 8) != '-' || AT(sc, p + 13) != '-' || AT(sc, p + 18) != '-' ||
		AT(sc, p + 23) != '-')
		return false;
	if (AFTER_NON_ASCII(sc, p))
		return true;
	for (int g = 0; g < 5; g++)
	{
		for (int i = 0; i < groups[g]; i++, p++)
			if (!HEX(AT(sc, p)))
				return false;
		if (g < 4)
		{
			if (AT(sc, p) != '-')
				return false;
			p++;
		}
	}
	c = AT(sc, p);
	if (HI(c))
		return true;
	if (WORDCHAR(c))
		return false;
	sc->certain_end = p;
	return true;
}

/*
 * The pattern's shape: three groups of four digits, each but the first
 * after an optional space or dash, an optional separator, then one to seven
 * digits not followed by a digit (the widths are fixed, so there is one way
 * to read it, and 13 to 19 digits).  The handler wants the Luhn check: a
 * match failing it is skipped here (rejected_end).
 */
static bool
pf_card(TextScan *sc, int p)
{
	char		digits[20];
	int			n = 0;
	int			c;
	bool		after_non_ascii = AFTER_NON_ASCII(sc, p);

	for (int g = 0; g < 4; g++)
	{
		if (g > 0 && (AT(sc, p) == ' ' || AT(sc, p) == '-'))
			p++;
		for (int k = 0; k < (g < 3 ? 4 : 7); k++)
		{
			c = AT(sc, p);
			if (HI(c))
				return true;
			if (!DIGIT(c))
			{
				if (k < (g < 3 ? 4 : 1))
					return false;
				break;
			}
			digits[n++] = c;
			p++;
		}
	}
	if (HI(AT(sc, p)))
		return true;
	if (DIGIT(AT(sc, p)))
		return false;
	if (after_non_ascii)
		return true;
	if (!luhn_valid(digits, n))
	{
		sc->rejected_end = p;
		return false;
	}
	sc->certain_end = p;
	return true;
}

/*
 * Four dot-separated groups of one to three digits, not followed by a word
 * character or a dot and a digit: a group of four digits fails every way the
 * pattern could split it, so the match is exactly these groups.  When an
 * octet is over 255 the handler refuses it: skipped here (rejected_end).
 */
static bool
pf_ipv4(TextScan *sc, int p)
{
	int			c;
	bool		over = false;
	bool		after_non_ascii = AFTER_NON_ASCII(sc, p);

	for (int g = 0; g < 4; g++)
	{
		int			k = 0,
					octet = 0;

		while ((c = AT(sc, p)) != 0 && DIGIT(c))
		{
			if (++k > 3)
				return false;
			octet = octet * 10 + c - '0';
			p++;
		}
		if (HI(c))
			return true;
		if (k == 0 || (g < 3 && c != '.'))
			return false;
		over |= octet > 255;
		if (g < 3)
			p++;
	}
	if (HI(c) || (c == '.' && HI(AT(sc, p + 1))))
		return true;
	if (WORDCHAR(c) || (c == '.' && DIGIT(AT(sc, p + 1))))
		return false;
	if (after_non_ascii)
		return true;
	if (over)
		sc->rejected_end = p;
	else
		sc->certain_end = p;
	return !over;
}

/*
 * The run of hex digits and colons from p holds two colons (the pattern's
 * lookahead).  When the byte after the run is none of \w, : and . (which
 * could start the IPv4 tail), the match is the run itself; inet_pton, the
 * handler's test, refuses most such runs (times of day: 10:00:00), and a
 * refused match is skipped here (rejected_end).
 */
static bool
pf_ipv6(TextScan *sc, int p)
{
	int			colons = 0;
	bool		compressed = false; /* a :: */
	int			q = p;
	int			c;
	char		buf[INET6_ADDRSTRLEN + 1];
	struct in6_addr addr;

	while ((c = AT(sc, q)) != 0 && (HEX(c) || c == ':'))
	{
		if (c == ':')
		{
			compressed |= colons > 0 && sc->s[q - 1] == ':';
			colons++;
		}
		q++;
	}
	/* a match from inside the run would end where it does: none there either */
	if (colons < 2 || (!HI(c) && c != '.' && WORDCHAR(c)))
	{
		sc->rejected_end = q;
		return false;
	}
	if (HI(c) || c == '.')
		return true;
	if (AFTER_NON_ASCII(sc, p))
		return true;
	/* without :: an address has eight groups (inet_pton would refuse 10:00:00) */
	if ((compressed || colons == 7) && q - p < (int) sizeof(buf))
	{
		memcpy(buf, sc->s + p, q - p);
		buf[q - p] = '\0';
		if (inet_pton(AF_INET6, buf, &addr) == 1)
		{
			sc->certain_end = q;
			return true;
		}
	}
	sc->rejected_end = q;
	return false;
}

/*
 * + and a digit.  When only digits follow, up to a byte that is neither a
 * word byte nor one the pattern could go on with, the match is that whole
 * run (it cannot end before a digit), 3 to 23 digits; the handler wants 8
 * to 15, so a match it would refuse is skipped here (rejected_end).
 */
static bool
pf_phone_intl(TextScan *sc, int p)
{
	int			c = AT(sc, p + 1);
	int			q = p + 1;

	if (!DIGIT(c))
		return HI(c);
	while (DIGIT(AT(sc, q)))
		q++;
	c = AT(sc, q);
	if (HI(c) || WORDCHAR(c) || c == ' ' || c == '.' || c == '-' || c == '(' || c == ')')
		return true;
	if (q - (p + 1) < 3 || q - (p + 1) > 23)
		return false;
	if (AFTER_NON_ASCII(sc, p))
		return true;
	if (q - (p + 1) < 8 || q - (p + 1) > 15)
	{
		sc->rejected_end = q;
		return false;
	}
	return true;
}

/*
 * Bytes from p of shape ('d' an ASCII digit, 's' one of " .-", any other
 * byte itself): 1 yes, 0 no, -1 a non-ASCII byte came first (maybe).
 */
static int
shape_at(TextScan *sc, int p, const char *shape)
{
	for (int i = 0; shape[i]; i++)
	{
		int			c = AT(sc, p + i);

		if (HI(c))
			return -1;
		if (shape[i] == 'd' ? !DIGIT(c) : shape[i] == 's' ? !IS(c, BC_SEP) : c != shape[i])
			return 0;
	}
	return 1;
}

/* (NXX) NXX-XXXX or NXX-NXX-XXXX at q (maybe). */
static bool
nanp_number_at(TextScan *sc, int q)
{
	if (AT(sc, q) != '(')
		return shape_at(sc, q, "dddsdddsdddd") != 0;
	return shape_at(sc, q, "(ddd)dddsdddd") != 0 || shape_at(sc, q, "(ddd) dddsdddd") != 0;
}

static bool
pf_phone_nanp(TextScan *sc, int p)
{
	int			c = AT(sc, p);

	if (HI(c) || nanp_number_at(sc, p))
		return true;
	if (c == '1' && IS(AT(sc, p + 1), BC_SEP) && nanp_number_at(sc, p + 2))
		return true;
	return c == '+' && AT(sc, p + 1) == '1' && IS(AT(sc, p + 2), BC_SEP) &&
		nanp_number_at(sc, p + 3);
}

static bool
pf_money_symbol(TextScan *sc, int p)
{
	int			c;

	if (AT(sc, p) == 'U')
	{
		if (AT(sc, p + 1) != 'S' || AT(sc, p + 2) != '$')
			return false;
		p += 2;
	}
	else if (HI(AT(sc, p)))
		return true;
	c = AT(sc, past_space(sc, p + 1));
	return DIGIT(c) || HI(c);
}

static bool
pf_money_code(TextScan *sc, int p)
{
	int			c;

	for (int i = 0; i < 3; i++)
		if (AT(sc, p + i) < 'A' || AT(sc, p + i) > 'Z')
			return false;
	c = AT(sc, past_space(sc, p + 3));
	return DIGIT(c) || HI(c);
}

/* The currency codes of the MONEY patterns, then the words after a number. */
static const char *const currency_words[] = {
	"USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "NZD", "CNY", "RMB", "INR", "SEK",
	"NOK", "DKK", "PLN", "BRL", "MXN", "ZAR", "KRW", "SGD", "HKD", "RUB", "TRY", "dollar",
"dollars", "euro", "euros", "pounds sterling", "yen", NULL};

/* A currency code or word (then a non-word byte) at q, or a non-ASCII byte. */
static bool
currency_at(TextScan *sc, int q)
{
	static WordList list = {currency_words};

	return HI(AT(sc, q)) || (IS(AT(sc, q), BC_CURRENCY) && word_at(sc, q, &list, 0));
}

/* The multipliers of the MONEY patterns. */
static const char *const multiplier_words[] = {
"k", "K", "m", "M", "bn", "mn", "thousand", "million", "billion", "trillion", NULL};

/* 40 EUR, 5 dollars, 1.2 billion dollars: the number, a multiplier, a currency. */
static bool
pf_money_after(TextScan *sc, int p)
{
	static WordList list = {multiplier_words};
	bool		hi;
	int			q = number_end(sc, p, true, &hi);
	int			n;

	if (hi || HI(AT(sc, p)))
		return true;
	if (q == p || !DIGIT(AT(sc, q - 1)))
		return false;
	q = past_space(sc, q);
	if (currency_at(sc, q))
		return true;
	/* at most one multiplier fits: each is letters, then a non-word byte */
	n = word_len_at(sc, q, &list, 0);
	if (n == 0)
		return false;
	return currency_at(sc, past_space(sc, q + n));
}

/* The end of the ASCII digits at p, or -1 when a non-ASCII byte ends them (perhaps a digit). */
static int
ascii_digits_end(TextScan *sc, int p)
{
	while (DIGIT(AT(sc, p)))
		p++;
	return HI(AT(sc, p)) ? -1 : p;
}

/* Whether the digits and dots s[p..e) read \d+(?:\.\d+)?: one dot at most, between digits. */
static bool
one_decimal_number(TextScan *sc, int p, int e)
{
	int			dots = 0;

	for (int i = p; i < e; i++)
		dots += sc->s[i] == '.';
	return dots <= 1 && DIGIT(sc->s[p]) && DIGIT(sc->s[e - 1]);
}

/*
 * The match is s[p..end), and groups 1 to n - 1 are at bounds[0..2n-2)
 * (start, end of each; -1 for a group that did not take part): the pattern
 * need not run (certain_end).
 */
static void
certain_match(TextScan *sc, int p, int end, int n, const int *bounds)
{
	Assert(n >= 1 && n <= CERTAIN_GROUPS_MAX);
	sc->certain_end = end;
	sc->certain_groups = n;
	sc->certain_ov[0] = p;
	sc->certain_ov[1] = end;
	for (int k = 0; k < 2 * (n - 1); k++)
		sc->certain_ov[k + 2] = bounds[k] >= 0 ? (PCRE2_SIZE) bounds[k] : PCRE2_UNSET;
}

/* The words of the PERCENT pattern (beside %). */
static const char *const percent_words[] = {"percent", "per cent", NULL};

/*
 * A number (a run of digits and dots that is not one cannot be followed by
 * the rest), an optional space, then % or percent or per cent then \b: all
 * ASCII, that is the whole match (certain_end).
 */
static bool
pf_percent(TextScan *sc, int p)
{
	static WordList list = {percent_words};
	bool		hi;
	int			start,
				e,
				q,
				n;

	start = p;
	if (AT(sc, p) == '+' || AT(sc, p) == '-')
		p++;
	if (HI(AT(sc, p)))
		return true;
	e = number_end(sc, p, false, &hi);
	if (hi)
		return true;
	if (e == p || !DIGIT(AT(sc, e - 1)))
		return false;
	q = past_space(sc, e);
	if (AT(sc, q) != '%' && AT(sc, q) != 'p')
		return HI(AT(sc, q));
	if (!one_decimal_number(sc, p, e))
		return false;
	if (AFTER_NON_ASCII(sc, start))
		return true;
	if (AT(sc, q) == '%')
		n = 1;
	else if ((n = word_len_at(sc, q, &list, 0)) == 0 || HI(AT(sc, q + n)))
		return n > 0;
	certain_match(sc, start, q + n, 2, (int[]) {start, e});
	return true;
}

/* The units of the QUANTITY pattern, spelt out (its non-ASCII ones aside). */
static const char *const unit_words[] = {
		"KB", "KiB", "MB", "MiB", "GB", "GiB", "TB", "TiB", "PB", "PiB", "byte", "bytes",
		"bps", "kbps", "Mbps", "Gbps", "ms", "us", "ns", "sec", "second", "seconds", "secs", "s",
		"min", "minute", "minutes", "mins", "h", "hr", "hrs", "hour", "hours", "day", "days",
		"week", "weeks", "month", "months", "year", "years", "km", "cm", "mm", "m", "mi", "mile",
		"miles", "ft", "feet", "kg", "mg", "g", "lb", "lbs", "pound", "pounds", "oz", "t", "ton",
		"tons", "tonne", "tonnes", "l", "ml", "L", "mL", "C", "F", "Hz", "kHz", "MHz", "GHz", "W",
		"kW", "MW", "kWh", "V", "mA", "A", "mph", "km/h", "kph", "px", "core", "cores", "vCPU",
		"vCPUs", "CPU", "CPUs", "GPU", "GPUs", "rpm", "rps", "qps", NULL};

/*
 * A number, an optional space, then one of the pattern's units not followed
 * by [\w/].  The words are the pattern's alternatives spelt out (its
 * non-ASCII units start with a byte >= 0x80, which passes).  All ASCII, that
 * is the whole match, with its groups (certain_end).
 */
static bool
pf_quantity(TextScan *sc, int p)
{
	static WordList list = {unit_words};
	bool		hi;
	int			e = number_end(sc, p, false, &hi);
	int			u,
				n;

	if (hi || HI(AT(sc, p)))
		return true;
	if (e == p || !DIGIT(AT(sc, e - 1)))
		return false;
	u = past_space(sc, e);
	if (HI(AT(sc, u)))
		return true;
	/* a unit is followed by no letter, so one at most fits */
	if ((n = word_len_at(sc, u, &list, BC_UNIT_END)) == 0 || !one_decimal_number(sc, p, e))
		return false;
	if (!HI(AT(sc, u + n)) && !AFTER_NON_ASCII(sc, p))
		certain_match(sc, p, u + n, 3, (int[]) {p, e, u, u + n});
	return true;
}

static bool
pf_date_iso(TextScan *sc, int p)
{
	int			d = digits_at(sc, p, 4);

	if (d >= 0)
		return d == 1;
	if (AT(sc, p + 4) != '-' || (d = digits_at(sc, p + 5, 2)) == 0)
		return false;
	return d == 1 || (AT(sc, p + 7) == '-' && digits_at(sc, p + 8, 2) != 0);
}

static bool
pf_date_slash(TextScan *sc, int p)
{
	int			e[3];			/* the ends of the three numbers */
	int			from = p;
	int			c;

	/* one or two digits and a slash, twice, then two or four digits */
	for (int k = 0; k < 3; k++)
	{
		int			n;

		if ((e[k] = ascii_digits_end(sc, from)) < 0)
			return true;
		n = e[k] - from;
		if (k < 2 ? n < 1 || n > 2 || AT(sc, e[k]) != '/' : n != 2 && n != 4)
			return false;
		from = e[k] + 1;
	}
	/* (?![\w/]|\.\d); a non-ASCII byte there or before p leaves it to the pattern */
	c = AT(sc, e[2]);
	if (!HI(c) && (WORDCHAR(c) || c == '/' || (c == '.' && DIGIT(AT(sc, e[2] + 1)))))
		return false;
	if (HI(c) || (c == '.' && HI(AT(sc, e[2] + 1))) || AFTER_NON_ASCII(sc, p))
		return true;
	certain_match(sc, p, e[2], 4, (int[]) {p, e[0], e[0] + 1, e[1], e[1] + 1, e[2]});
	return true;
}

/*
 * Spaces (\s+) at p: the position after them, 0 when there are none, -1
 * when a non-ASCII byte (perhaps a Unicode space) comes first.
 */
static int
skip_spaces(TextScan *sc, int p)
{
	int			c = AT(sc, p);

	if (HI(c))
		return -1;
	if (!SPACE(c))
		return 0;
	while (SPACE(AT(sc, p)))
		p++;
	return p;
}

/* A month abbreviation (any case) at p. */
static bool
month_at(TextScan *sc, int p)
{
	char		w[4];

	for (int i = 0; i < 3; i++)
	{
		int			c = AT(sc, p + i);

		if (HI(c))
			return true;
		w[i] = c | 0x20;
	}
	switch (w[0])
	{
		case 'j':
			return (w[1] == 'a' && w[2] == 'n') || (w[1] == 'u' && (w[2] == 'n' || w[2] == 'l'));
		case 'f':
			return w[1] == 'e' && w[2] == 'b';
		case 'm':
			return w[1] == 'a' && (w[2] == 'r' || w[2] == 'y');
		case 'a':
			return (w[1] == 'p' && w[2] == 'r') || (w[1] == 'u' && w[2] == 'g');
		case 's':
			return w[1] == 'e' && w[2] == 'p';
		case 'o':
			return w[1] == 'c' && w[2] == 't';
		case 'n':
			return w[1] == 'o' && w[2] == 'v';
		case 'd':
			return w[1] == 'e' && w[2] == 'c';
	}
	return false;
}

static bool
pf_date_dmy(TextScan *sc, int p)
{
	int			q = p + 1;
	int			c;
	int			d;

	if (HI(AT(sc, p)))
		return true;
	if (DIGIT(AT(sc, q)))
		q++;
	c = AT(sc, q);
	if (LETTER(c))
	{
		int			a = c | 0x20,
					b = AT(sc, q + 1) | 0x20;

		if (HI(AT(sc, q + 1)))
			return true;
		if (!((a == 's' && b == 't') || (a == 'n' && b == 'd') || (a == 'r' && b == 'd') ||
			  (a == 't' && b == 'h')))
			return false;
		q += 2;
	}
	q = skip_spaces(sc, q);
	if (q < 0 || HI(AT(sc, q)))
		return true;
	if (q == 0 || !month_at(sc, q))
		return false;
	/* the month's letters, .?,?\s+ and a four-digit year */
	while (LETTER(AT(sc, q)))
		q++;
	if (HI(AT(sc, q)))
		return true;
	if (AT(sc, q) == '.')
		q++;
	if (AT(sc, q) == ',')
		q++;
	q = skip_spaces(sc, q);
	if (q <= 0)
		return q < 0;
	/* \d{4}\b */
	d = digits_at(sc, q, 4);
	return d == 1 || (d == -1 && (HI(AT(sc, q + 4)) || !WORDCHAR(AT(sc, q + 4))));
}

static bool
pf_date_mdy(TextScan *sc, int p)
{
	if (!month_at(sc, p))
		return false;
	p += 3;
	while (LETTER(AT(sc, p)))
		p++;
	if (AT(sc, p) == '.')
		p++;
	p = skip_spaces(sc, p);
	return p < 0 || (p > 0 && (DIGIT(AT(sc, p)) || HI(AT(sc, p))));
}

/*
 * The word after spaces (\s+) at q, lower-cased into w[16]: its length, 0
 * when there is none, -1 when a non-ASCII byte makes it uncertain.
 */
static int
word_after_spaces(TextScan *sc, int q, char *w)
{
	q = skip_spaces(sc, q);
	if (q <= 0)
		return q;
	return lower_word(sc, q, w, 15);
}

#define IS_WORD(w, n, lit) ((n) == sizeof(lit) - 1 && memcmp(w, lit, sizeof(lit) - 1) == 0)

/* A count written as a word (a, an, one ... twelve). */
static bool
count_word(const char *w, int n)
{
	return IS_WORD(w, n, "a") || IS_WORD(w, n, "an") || IS_WORD(w, n, "one") ||
		IS_WORD(w, n, "two") || IS_WORD(w, n, "three") || IS_WORD(w, n, "four") ||
		IS_WORD(w, n, "five") || IS_WORD(w, n, "six") || IS_WORD(w, n, "seven") ||
		IS_WORD(w, n, "eight") || IS_WORD(w, n, "nine") || IS_WORD(w, n, "ten") ||
		IS_WORD(w, n, "eleven") || IS_WORD(w, n, "twelve");
}

/* days?, weeks?, months?, years? after spaces at q (maybe). */
static bool
unit_after(TextScan *sc, int q)
{
	char		w[16];
	int			n = word_after_spaces(sc, q, w);

	if (n > 0 && w[n - 1] == 's')
		n--;
	return n < 0 || IS_WORD(w, n, "day") || IS_WORD(w, n, "week") ||
		IS_WORD(w, n, "month") || IS_WORD(w, n, "year");
}

/* A count (1 to 3 digits or a count word) and a unit after spaces at q (maybe). */
static bool
count_after(TextScan *sc, int q)
{
	char		w[16];
	int			n;
	int			k = 0;

	q = skip_spaces(sc, q);
	if (q < 0 || HI(AT(sc, q)))
		return true;
	if (q == 0)
		return false;
	while (k < 3 && DIGIT(AT(sc, q + k)))
		k++;
	if (k > 0)
		return HI(AT(sc, q + k)) || unit_after(sc, q + k);
	n = lower_word(sc, q, w, 15);
	return n < 0 || (count_word(w, n) && unit_after(sc, q + n));
}

/* week, month, year or a weekday after spaces at q (maybe). */
static bool
period_after(TextScan *sc, int q)
{
	char		w[16];
	int			n = word_after_spaces(sc, q, w);

	return n < 0 || IS_WORD(w, n, "week") || IS_WORD(w, n, "month") ||
		IS_WORD(w, n, "year") || IS_WORD(w, n, "monday") || IS_WORD(w, n, "tuesday") ||
		IS_WORD(w, n, "wednesday") || IS_WORD(w, n, "thursday") || IS_WORD(w, n, "friday") ||
		IS_WORD(w, n, "saturday") || IS_WORD(w, n, "sunday");
}

/*
 * The number of the word of wl (lower-case ASCII letters) that the n bytes
 * at p spell in any case, or -1.
 */
static int
word_number_ci(WordList *wl, const char *p, int n)
{
	unsigned char first = (unsigned char) (*p | 0x20);

	if (!wl->ready)
		word_list_init(wl);
	for (int k = wl->from[first]; k < wl->to[first]; k++)
	{
		int			i = wl->by_first[k];
		int			j = 1;

		if (wl->len[i] != n)
			continue;
		while (j < n && (p[j] | 0x20) == wl->words[i][j])
			j++;
		if (j == n)
			return i;
	}
	return -1;
}

/*
 * The words a relative date starts with, in the pattern's groups: a day,
 * next/last/this, in, or a count (the order matters below).
 */
static const char *const relative_words[] = {
	"today", "tonight", "yesterday", "tomorrow", "next", "last", "this", "in", "a", "an",
	"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
"twelve", NULL};
static WordList relative_list = {relative_words};

#define RELATIVE_PERIOD 4		/* the first of next, last, this */
#define RELATIVE_IN 7			/* in; the counts follow */

static bool
pf_date_relative(TextScan *sc, int p)
{
	int			n = 0;
	int			i;

	if (DIGIT(AT(sc, p)) || HI(AT(sc, p)))
	{
		while (n < 3 && DIGIT(AT(sc, p + n)))
			n++;
		return n == 0 || HI(AT(sc, p + n)) || unit_after(sc, p + n);
	}
	/* the letters (at most one more than the longest word); caseless s, k match non-ASCII */
	while (n < 10 && LETTER(AT(sc, p + n)))
		n++;
	if (HI(AT(sc, p + n)))
		return true;
	if (n == 10 || (i = word_number_ci(&relative_list, sc->s + p, n)) < 0)
		return false;
	if (i < RELATIVE_PERIOD)
		return true;
	if (i < RELATIVE_IN)
		return period_after(sc, p + n);
	if (i == RELATIVE_IN)
		return count_after(sc, p + n);
	return unit_after(sc, p + n);
}

#define DIGIT_IN(c, lo, hi) ((c) >= (lo) && (c) <= (hi))

/*
 * The end of the time's am/pm part (\s?([AaPp])(?:\.[Mm]\.|\.?[Mm]\b)) at
 * q, the first of the pattern's ways to read it that is followed by
 * neither a word byte nor a colon, its letter at *letter; or -1.
 */
static int
time_ampm_end(TextScan *sc, int q, int *letter)
{
	for (int space = SPACE(AT(sc, q)) ? 1 : 0; space >= 0; space--)
	{
		int			a = q + space;
		int			ends[3] = {-1, -1, -1};

		if ((AT(sc, a) | 0x20) != 'a' && (AT(sc, a) | 0x20) != 'p')
			continue;
		if (AT(sc, a + 1) == '.' && (AT(sc, a + 2) | 0x20) == 'm' && AT(sc, a + 3) == '.')
			ends[0] = a + 4;
		if (AT(sc, a + 1) == '.' && (AT(sc, a + 2) | 0x20) == 'm' && !WORDCHAR(AT(sc, a + 3)))
			ends[1] = a + 3;
		if ((AT(sc, a + 1) | 0x20) == 'm' && !WORDCHAR(AT(sc, a + 2)))
			ends[2] = a + 2;
		for (int k = 0; k < 3; k++)
			if (ends[k] >= 0 && !WORDCHAR(AT(sc, ends[k])) && AT(sc, ends[k]) != ':')
			{
				*letter = a;
				return ends[k];
			}
	}
	return -1;
}

/*
 * The whole time and its groups, read in the order the pattern tries
 * them: the hour as [01]\d, \d, then 2[0-3]; with seconds, then without;
 * with am/pm, then without; the first followed by neither a word byte nor a
 * colon is the match (certain_end).  A non-ASCII byte within reach of the
 * match, or before it, leaves it to the pattern.
 */
static bool
pf_time_colon(TextScan *sc, int p)
{
	int			hour_ends[3] = {-1, -1, -1};

	/* "12:34:56 a.m." and the byte after it */
	for (int k = p; k < Min(sc->len, p + 14); k++)
		if (HI((unsigned char) sc->s[k]))
			return true;
	if (AFTER_NON_ASCII(sc, p))
		return true;
	if (DIGIT_IN(AT(sc, p), '0', '1') && DIGIT(AT(sc, p + 1)))
		hour_ends[0] = p + 2;
	if (DIGIT(AT(sc, p)))
		hour_ends[1] = p + 1;
	if (AT(sc, p) == '2' && DIGIT_IN(AT(sc, p + 1), '0', '3'))
		hour_ends[2] = p + 2;
	for (int h = 0; h < 3; h++)
	{
		int			e = hour_ends[h];

		if (e < 0 || AT(sc, e) != ':' || !DIGIT_IN(AT(sc, e + 1), '0', '5') ||
			!DIGIT(AT(sc, e + 2)))
			continue;
		for (int with_seconds = 1; with_seconds >= 0; with_seconds--)
		{
			int			m_end = e + 3;
			int			s_end = m_end;
			int			letter = -1;
			int			end;

			if (with_seconds)
			{
				if (AT(sc, m_end) != ':' || !DIGIT_IN(AT(sc, m_end + 1), '0', '5') ||
					!DIGIT(AT(sc, m_end + 2)))
					continue;
				s_end = m_end + 3;
			}
			if ((end = time_ampm_end(sc, s_end, &letter)) < 0)
			{
				if (WORDCHAR(AT(sc, s_end)) || AT(sc, s_end) == ':')
					continue;
				end = s_end;
			}
			certain_match(sc, p, end, 5, (int[]) {p, e, e + 1, m_end,
						  with_seconds ? m_end + 1 : -1, with_seconds ? s_end : -1,
						  letter, letter >= 0 ? letter + 1 : -1});
			return true;
		}
	}
	return false;
}

static bool
pf_time_ampm(TextScan *sc, int p)
{
	int			q = p + (DIGIT(AT(sc, p + 1)) ? 2 : 1);
	int			c = AT(sc, q);

	if (HI(c))
		return true;
	if (SPACE(c))
		q++;
	c = AT(sc, q);
	if (HI(c))
		return true;
	if ((c | 0x20) != 'a' && (c | 0x20) != 'p')
		return false;
	/* then m, or .m */
	c = AT(sc, q + 1) == '.' ? AT(sc, q + 2) : AT(sc, q + 1);
	return HI(c) || (c | 0x20) == 'm';
}

/* The words of the PERSON title and ORG "University of" patterns. */
static const char *const title_words[] = {
	"Mr", "Mrs", "Ms", "Mx", "Miss", "Dr", "Prof", "Sir", "Dame", "Lord", "Lady", "Rev",
"Capt", "Gen", "Sen", "Rep", "Gov", "President", "Senator", "Judge", NULL};
static const char *const org_of_words[] = {
	"University", "Institute", "College", "Bank", "Ministry", "Department", "Academy",
"School", NULL};

#define UPPER(c) ((c) >= 'A' && (c) <= 'Z')
#define NAME_BYTE(c) (LETTER(c) || (c) == '\'' || (c) == '-')	/* ASCII [\p{L}\p{M}'’-] */

typedef enum NameRead
{
	NAME_NONE,
	NAME_FOUND,
	NAME_MAYBE					/* a non-ASCII byte came first: the pattern decides */
} NameRead;

/* The end of \p{Lu}[\p{L}\p{M}'’-]{0,40} at q into *end. */
static NameRead
name_word_end(TextScan *sc, int q, int *end)
{
	int			n = 0;

	if (HI(AT(sc, q)))
		return NAME_MAYBE;
	if (!UPPER(AT(sc, q)))
		return NAME_NONE;
	for (q++; n < 40 && NAME_BYTE(AT(sc, q)); n++)
		q++;
	if (n < 40 && HI(AT(sc, q)))
		return NAME_MAYBE;
	*end = q;
	return NAME_FOUND;
}

/*
 * The end of the name after a title at q, as the pattern reads it:
 * initials (\p{Lu}\.\s?)*, a capitalised word (or, when none follows the
 * initials, the last initial's letter, as backtracking gives), then up to
 * three more, each an initial with its dot or a word, after spaces.  Nothing
 * follows in the pattern, so the first reading is the match.
 */
static NameRead
title_name_end(TextScan *sc, int q, int *end)
{
	int			last_initial = -1;
	int			e;
	NameRead	r;

	while (UPPER(AT(sc, q)) && AT(sc, q + 1) == '.')
	{
		last_initial = q;
		q += 2;
		if (HI(AT(sc, q)))
			return NAME_MAYBE;
		if (SPACE(AT(sc, q)))
			q++;
	}
	if ((r = name_word_end(sc, q, &e)) == NAME_MAYBE)
		return NAME_MAYBE;
	if (r == NAME_NONE)
	{
		if (last_initial < 0)
			return NAME_NONE;
		/* the last initial given back: its letter is the word, a dot follows */
		*end = last_initial + 1;
		return NAME_FOUND;
	}
	for (int more = 0; more < 3; more++)
	{
		int			j = skip_spaces(sc, e);

		if (j < 0)
			return NAME_MAYBE;
		if (j == 0)
			break;
		if (HI(AT(sc, j)))
			return NAME_MAYBE;
		if (!UPPER(AT(sc, j)))
			break;
		if (AT(sc, j + 1) == '.')
			e = j + 2;
		else if (name_word_end(sc, j, &e) == NAME_MAYBE)
			return NAME_MAYBE;
	}
	*end = e;
	return NAME_FOUND;
}

static bool
pf_person_title(TextScan *sc, int p)
{
	static WordList list = {title_words};

	if (!word_at(sc, p, &list, BC_TITLE_END))
		return false;
	if (AFTER_NON_ASCII(sc, p))
		return true;
	/* the titles in the pattern's order ("Mr" is tried before "Mrs") */
	for (int i = 0; title_words[i]; i++)
	{
		int			n = list.len[i];

		if (p + n > sc->len || memcmp(sc->s + p, title_words[i], n) != 0)
			continue;
		/* \.?\s+, the dot taken first; without it \s+ would meet the dot */
		for (int dot = AT(sc, p + n) == '.'; dot >= 0; dot--)
		{
			int			q = skip_spaces(sc, p + n + dot);
			int			end;
			int			r;

			if (q < 0)
				return true;
			if (q == 0)
				continue;
			if ((r = title_name_end(sc, q, &end)) == NAME_MAYBE)
				return true;
			if (r == NAME_FOUND)
			{
				certain_match(sc, p, end, 2, (int[]) {q, end});
				return true;
			}
		}
	}
	return false;
}

static bool
pf_org_of(TextScan *sc, int p)
{
	static WordList list = {org_of_words};

	return word_at(sc, p, &list, BC_SPACE);
}

/* First position >= p whose byte is not of class allowed (len when none). */
static int
next_break(TextScan *sc, int p, uint32 allowed)
{
	while (p < sc->len && IS(sc->s[p], allowed))
		p++;
	return p;
}

/* The words two ORG rules look for after a name: "Acme Widgets GmbH", "Boston University". */
static const char *const org_suffix_words[] = {
	"Inc", "Ltd", "LLC", "LLP", "GmbH", "AG", "Corp", "Corporation", "Co", "Company", "PLC",
	"plc", "S.A", "SA", "N.V", "NV", "B.V", "BV", "Limited", "Group", "Holdings",
"Foundation", "Association", "Partners", NULL};
static const char *const org_named_words[] = {
"University", "College", "Institute", "Hospital", "Bank", NULL};
static WordList org_suffixes = {org_suffix_words};
static WordList org_names = {org_named_words};

static void
add_position(WordPositions *wp, int p)
{
	if (wp->n == wp->cap)
	{
		wp->cap = wp->cap ? wp->cap * 2 : 16;
		wp->pos = wp->pos ? repalloc_huge(wp->pos, sizeof(int) * wp->cap)
			: palloc(sizeof(int) * wp->cap);
	}
	wp->pos[wp->n++] = p;
}

/*
 * Bit 7 of each byte of the eight bytes w set where a byte is below 0x21 (an
 * ASCII space among them) or not ASCII, and perhaps where a byte right
 * after such a byte is 0x21 (the subtraction's borrow): a superset, for
 * callers that check each byte it marks.
 */
static inline uint64
space_or_high_bytes(uint64 w)
{
	return ((w - UINT64CONST(0x2121212121212121)) | w) & UINT64CONST(0x8080808080808080);
}

/* Records a word of org_suffixes or org_names at p when one starts there, after a space. */
static inline void
org_word_at(TextScan *sc, int p, const bool *either)
{
	int			c;

	if (p >= sc->len || !either[(unsigned char) sc->s[p]])
		return;
	c = (unsigned char) sc->s[p - 1];
	if (!SPACE(c) && !HI(c))
		return;
	if (word_at(sc, p, &org_suffixes, 0))
		add_position(&sc->suffixes, p);
	if (word_at(sc, p, &org_names, 0))
		add_position(&sc->named, p);
}

/*
 * Every position after a space (or a non-ASCII byte) where a word of
 * org_suffixes or of org_names starts, then a non-word byte: one pass over
 * the text for both, at the first question, eight bytes at a time (most
 * bytes are no space).
 */
static void
find_org_words(TextScan *sc)
{
	static bool either[256];	/* a first byte of either list */
	static bool either_ready = false;
	int			i = 0;

	if (!either_ready)
	{
		word_list_init(&org_suffixes);
		word_list_init(&org_names);
		for (int b = 0; b < 256; b++)
			either[b] = org_suffixes.first[b] || org_names.first[b];
		either_ready = true;
	}
	for (; i + 8 <= sc->len; i += 8)
	{
		uint64		w;
		uint64		marked;

		memcpy(&w, sc->s + i, 8);
		for (marked = space_or_high_bytes(w); marked != 0; marked &= marked - 1)
			org_word_at(sc, i + pg_rightmost_one_pos64(marked) / 8 + 1, either);
	}
	for (; i < sc->len; i++)
		org_word_at(sc, i + 1, either);
	sc->org_words_found = true;
}

/*
 * A word of wp after p, before the first byte at or after p not of class
 * allowed (*brk caches it; it is looked for only while such a word lies
 * ahead).  p never decreases from one question to the next.
 */
static bool
word_before_break(TextScan *sc, int p, int *brk, uint32 allowed, WordPositions *wp)
{
	if (!sc->org_words_found)
		find_org_words(sc);
	while (wp->at < wp->n && wp->pos[wp->at] <= p)
		wp->at++;
	if (wp->at == wp->n)
	{
		sc->rejected_end = sc->len;		/* no such word after p */
		return false;
	}
	if (*brk < p)
		*brk = next_break(sc, p, allowed);
	if (wp->pos[wp->at] <= *brk)
		return true;
	/* a name starting before the break ends there, without the word */
	sc->rejected_end = *brk;
	return false;
}

/*
 * The words from p up to q (the suffix word) are at most max, each starting
 * with a byte of starts (or a non-ASCII byte): the name part of the ORG
 * patterns, whose words start with \p{Lu} (or &, or a digit).  A later
 * suffix would need the same words and more, so it cannot do better.
 */
static bool
name_words_before(TextScan *sc, int p, int q, int max, const char *starts)
{
	int			words = 1;

	for (int i = p; i < q; i++)
	{
		int			c = (unsigned char) sc->s[i],
					next = (unsigned char) sc->s[i + 1];

		if (HI(c))
			return true;
		if (!SPACE(c) || SPACE(next) || i + 1 == q)
			continue;
		if (HI(next))
			return true;
		if (strchr(starts, next) == NULL || ++words > max)
			return false;
	}
	return true;
}

#define UPPER_ASCII "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

/* Company suffixes after capitalized words: "Acme Widgets GmbH". */
static bool
pf_org_suffix(TextScan *sc, int p)
{
	/* \b before & needs a word character before it, before a capital none */
	if (AT(sc, p) == '&' ? p == 0 || (!HI(AT(sc, p - 1)) && !WORDCHAR(AT(sc, p - 1)))
		: p > 0 && WORDCHAR(AT(sc, p - 1)))
		return false;
	/* up to five words of capitals, &, or digits, then the suffix */
	return word_before_break(sc, p, &sc->org_break, BC_ORG_NAME, &sc->suffixes) &&
		name_words_before(sc, p, sc->suffixes.pos[sc->suffixes.at], 5,
						  UPPER_ASCII "&0123456789");
}

/* Capitalized words before University, College...: "Boston University". */
static bool
pf_org_named(TextScan *sc, int p)
{
	/* up to three capitalized words, then the word */
	return word_before_break(sc, p, &sc->name_break, BC_NAME, &sc->named) &&
		name_words_before(sc, p, sc->named.pos[sc->named.at], 3, UPPER_ASCII);
}

/* Spaces and a state code after the comma at k (maybe: a non-ASCII byte first). */
static bool
state_after_comma(TextScan *sc, int k)
{
	static const char *const states =
		"AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV "
		"NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC";
	int			q = skip_spaces(sc, k + 1);
	int			a,
				b,
				c;

	if (q <= 0)
		return q < 0;
	a = AT(sc, q);
	b = AT(sc, q + 1);
	c = AT(sc, q + 2);
	if (HI(a) || HI(b) || HI(c))
		return true;
	if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z' || WORDCHAR(c))
		return false;
	for (const char *st = states; *st; st += st[2] ? 3 : 2)
		if (st[0] == a && st[1] == b)
			return true;
	return false;
}

/*
 * Capitalized words before a comma, spaces and a state code: "Springfield,
 * IL".  The commas followed by a state are found at the first question; the
 * name's end is looked for only while one lies ahead.
 */
static bool
pf_city_state(TextScan *sc, int p)
{
	WordPositions *wp = &sc->state_commas;

	if (!sc->state_commas_found)
	{
		for (const char *k = memchr(sc->s, ',', sc->len); k != NULL;
			 k = memchr(k + 1, ',', sc->len - (k + 1 - sc->s)))
			if (state_after_comma(sc, k - sc->s))
				add_position(wp, k - sc->s);
		sc->state_commas_found = true;
	}
	while (wp->at < wp->n && wp->pos[wp->at] < p)
		wp->at++;
	if (wp->at == wp->n)
	{
		sc->rejected_end = sc->len;
		return false;
	}
	/* a comma ends a name: the first one after p decides, for every name up to it */
	if (sc->name_break < p)
		sc->name_break = next_break(sc, p, BC_NAME);
	if (sc->name_break == wp->pos[wp->at])
		return true;
	sc->rejected_end = sc->name_break;
	return false;
}

static const Rule rules[] = {
	{"EMAIL", "(?<![\\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}\\b", rule_email, "@",
		"A-Za-z0-9._%+-", NA_NONE, "A-Za-z0-9_.%+-", pf_email},
	{"URL", "\\b(?:(?:https?|ftp)://|www\\.)[^\\s<>\\\"]+", rule_url, "",
		"hfw", NA_NONE, "A-Za-z0-9_", pf_url},
	{"UUID", "\\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\\b", rule_uuid, "-",
		"0-9a-fA-F", NA_NONE, "A-Za-z0-9_", pf_uuid},
	{"CREDIT_CARD", "(?<![\\d.,-])\\d{4}(?:[ -]?\\d{4}){2}[ -]?\\d{1,7}(?![\\d])", rule_card, "0",
		"0-9", NA_DIGIT, "0-9.,-", pf_card},
	{"IP", "(?<![\\w.])(?:\\d{1,3}\\.){3}\\d{1,3}(?![\\w]|\\.\\d)", rule_ipv4, "0.",
		"0-9", NA_DIGIT, "A-Za-z0-9_.", pf_ipv4},
	{"IP", "(?<![\\w:.])(?=[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:)(?:[0-9A-Fa-f]{1,4}|:)(?:[0-9A-Fa-f:]*:\\d{1,3}(?:\\.\\d{1,3}){3}(?![\\w.])|[0-9A-Fa-f:]*)(?![\\w:]|\\.\\d)", rule_ipv6, ":",
		"0-9a-fA-F:", NA_NONE, "A-Za-z0-9_:.", pf_ipv6},
	{"PHONE", "(?<![\\w+])\\+\\d{1,3}(?:[ .-]?\\(?\\d{1,4}\\)?){2,5}(?![\\w])", rule_phone_intl, "0+",
		"+", NA_NONE, "A-Za-z0-9_+", pf_phone_intl},
	{"PHONE", "(?<![\\w+(])(?:\\+?1[ .-])?(?:\\(\\d{3}\\) ?|\\d{3}[ .-])\\d{3}[ .-]\\d{4}(?![\\w])", rule_phone_nanp, "0",
		"+(0-9", NA_DIGIT, "A-Za-z0-9_+(", pf_phone_nanp},
	{"MONEY", "(?<![\\w])(US\\$|[$\u20ac\u00a3\u00a5\u20b9])\\s?(\\d{1,3}(?:,\\d{3})+(?:\\.\\d+)?|\\d+(?:\\.\\d+)?)(?:\\s?(k|K|m|M|bn|mn|thousand|million|billion|trillion)\\b)?", rule_money_symbol, "0",
		"$U", NA_ANY, "A-Za-z0-9_", pf_money_symbol},
	{"MONEY", "\\b(USD|EUR|GBP|JPY|CHF|CAD|AUD|NZD|CNY|RMB|INR|SEK|NOK|DKK|PLN|BRL|MXN|ZAR|KRW|SGD|HKD|RUB|TRY)\\s?(\\d{1,3}(?:,\\d{3})+(?:\\.\\d+)?|\\d+(?:\\.\\d+)?)(?:\\s?(k|K|m|M|bn|mn|thousand|million|billion|trillion)\\b)?", rule_money_code_first, "0",
		"A-Z", NA_NONE, "A-Za-z0-9_", pf_money_code},
	{"MONEY", "(?<![\\w.])(\\d{1,3}(?:,\\d{3})+(?:\\.\\d+)?|\\d+(?:\\.\\d+)?)(?:\\s?(k|K|m|M|bn|mn|thousand|million|billion|trillion)\\b)?\\s?(USD|EUR|GBP|JPY|CHF|CAD|AUD|NZD|CNY|RMB|INR|SEK|NOK|DKK|PLN|BRL|MXN|ZAR|KRW|SGD|HKD|RUB|TRY|dollars?|euros?|pounds sterling|yen)\\b", rule_money_code_after, "0",
		"0-9", NA_DIGIT, "A-Za-z0-9_.", pf_money_after},
	{"PERCENT", "(?<![\\w.])([-+]?\\d+(?:\\.\\d+)?)\\s?(?:%|percent\\b|per cent\\b)", rule_percent, "0",
		"-+0-9", NA_DIGIT, "A-Za-z0-9_.", pf_percent},
	{"QUANTITY", "(?<![\\w.])(\\d+(?:\\.\\d+)?)\\s?([KMGTP]i?B|bytes?|[kMG]?bps|ms|\u00b5s|us|ns|sec(?:onds?)?|secs|s|min(?:utes?)?|mins|h|hrs?|hours?|days?|weeks?|months?|years?|km|cm|mm|m|mi|miles?|ft|feet|kg|mg|g|lbs?|pounds?|oz|t|tons?|tonnes?|l|ml|L|mL|\u00b0C|\u00b0F|C|F|[kMG]?Hz|[kM]?W|kWh|V|mA|A|mph|km/h|kph|px|cores?|vCPUs?|CPUs?|GPUs?|rpm|rps|qps)(?![\\w/])", rule_quantity, "0",
		"0-9", NA_DIGIT, "A-Za-z0-9_.", pf_quantity},
	{"DATE", "(?<![\\w.-])(\\d{4})-(\\d{2})-(\\d{2})(?:[T ](\\d{2}):(\\d{2})(?::(\\d{2})(?:\\.\\d+)?)?(Z|[+-]\\d{2}:?\\d{2})?)?(?![\\w.]*\\d)", rule_date_iso, "0-",
		"0-9", NA_DIGIT, "A-Za-z0-9_.-", pf_date_iso},
	{"DATE", "(?<![\\w./-])(\\d{1,2})/(\\d{1,2})/(\\d{4}|\\d{2})(?![\\w/]|\\.\\d)", rule_date_slash, "0/",
		"0-9", NA_DIGIT, "A-Za-z0-9_./-", pf_date_slash},
	{"DATE", "(?i)\\b(\\d{1,2})(?:st|nd|rd|th)?\\s+(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\\.?,?\\s+(\\d{4})\\b", rule_date_dmy, "0",
		"0-9", NA_DIGIT, "A-Za-z0-9_", pf_date_dmy},
	{"DATE", "(?i)\\b(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\\.?\\s+(\\d{1,2})(?:st|nd|rd|th)?\\b(?:,?\\s+(\\d{4})\\b)?(?!:)", rule_date_mdy, "0",
		"JFMASONDjfmasond", NA_ANY, "A-Za-z0-9_", pf_date_mdy},
	{"DATE", "(?i)\\b(?:(today|tonight|yesterday|tomorrow)|(next|last|this)\\s+(week|month|year|monday|tuesday|wednesday|thursday|friday|saturday|sunday)|(\\d{1,3}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\\s+(days?|weeks?|months?|years?)\\s+(ago|from now)|in\\s+(\\d{1,3}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\\s+(days?|weeks?|months?|years?))\\b", rule_date_relative, "",
		"0-9tTyYnNlLaAoOfFsSeEiI", NA_ANY, "A-Za-z0-9_", pf_date_relative},
	{"TIME", "(?<![\\w:.])([01]?\\d|2[0-3]):([0-5]\\d)(?::([0-5]\\d))?(?:\\s?([AaPp])(?:\\.[Mm]\\.|\\.?[Mm]\\b))?(?![\\w:])", rule_time_colon, "0:",
		"0-9", NA_DIGIT, "A-Za-z0-9_:.", pf_time_colon},
	{"TIME", "(?i)(?<![\\w:.])(1[0-2]|0?[1-9])\\s?([ap])(?:\\.m\\.|\\.?m\\b)", rule_time_ampm, "0",
		"0-9", NA_NONE, "A-Za-z0-9_:.", pf_time_ampm},
	{"PERSON", "\\b(?:Mr|Mrs|Ms|Mx|Miss|Dr|Prof|Sir|Dame|Lord|Lady|Rev|Capt|Gen|Sen|Rep|Gov|President|Senator|Judge)\\.?\\s+((?:\\p{Lu}\\.\\s?)*\\p{Lu}[\\p{L}\\p{M}'\u2019-]{0,40}(?:\\s+(?:\\p{Lu}\\.|\\p{Lu}[\\p{L}\\p{M}'\u2019-]{0,40})){0,3})", rule_person_title, "",
		"MDPSLRCGJ", NA_NONE, "A-Za-z0-9_", pf_person_title},
	{"ORG", "\\b((?:\\p{Lu}[\\p{L}\\p{M}'\u2019-]{0,40}|&)(?:[ ](?:\\p{Lu}[\\p{L}\\p{M}'\u2019-]{0,40}|&|\\d+)){0,4}),?\\s+(Inc|Ltd|LLC|LLP|GmbH|AG|Corp|Corporation|Co|Company|PLC|plc|S\\.A|SA|N\\.V|NV|B\\.V|BV|Limited|Group|Holdings|Foundation|Association|Partners)\\b\\.?", rule_org_suffix, "",
		"A-Z&", NA_ANY, "", pf_org_suffix},
	{"ORG", "\\b(?:University|Institute|College|Bank|Ministry|Department|Academy|School)\\s+of\\s+(?:the\\s+)?\\p{Lu}[\\p{L}\\p{M}'\u2019-]{0,40}(?:\\s+\\p{Lu}[\\p{L}\\p{M}'\u2019-]{0,40}){0,3}", rule_org_of, "f",
		"UICBMDAS", NA_NONE, "A-Za-z0-9_", pf_org_of},
	{"ORG", "\\b\\p{Lu}[\\p{L}\\p{M}'\u2019-]{0,40}(?:\\s+\\p{Lu}[\\p{L}\\p{M}'\u2019-]{0,40}){0,2}\\s+(?:University|College|Institute|Hospital|Bank)\\b", rule_org_named, "",
		"A-Z", NA_ANY, "A-Za-z0-9_", pf_org_named},
	{"LOCATION", "\\b(\\p{Lu}[\\p{L}\\p{M}'\u2019-]{0,40}(?:\\s+\\p{Lu}[\\p{L}\\p{M}'\u2019-]{0,40}){0,2}),\\s+(AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC)\\b(?!\\w)", rule_city_state, ",",
		"A-Z", NA_ANY, "A-Za-z0-9_", pf_city_state},
};

/* ---- compiled rules, once per backend ---- */

#define NRULES lengthof(rules)

/*
 * A bit of first[] past the rules' bits, set at the non-ASCII bytes where
 * a character may start that only a \d-first rule could take: the scan
 * asks digit_character_at before it lets those rules try.
 */
#define HI_DIGIT ((uint32) 1 << 31)
StaticAssertDecl(lengthof(rules) < 31, "a rule's bit in a uint32 besides HI_DIGIT");

/*
 * The words a match starts with, for the rules whose matches start with one
 * of a few words (and a non-letter after it), or NULL.  Lists may hold more
 * than the pattern's words: they only rule positions out.
 */
static const char *const *
rule_start_words(const Rule *rule)
{
	static const char *const months[] = {
		"jan", "january", "feb", "february", "mar", "march", "apr", "april", "may", "jun",
		"june", "jul", "july", "aug", "august", "sep", "sept", "september", "oct", "october",
	"nov", "november", "dec", "december", NULL};
	static const char *const schemes[] = {"http", "https", "ftp", "www", NULL};
	static const char *const us[] = {"US", NULL};
	RulePrefilter pf = rule->maybe;

	if (pf == pf_url)
		return schemes;
	if (pf == pf_money_symbol)	/* US$ */
		return us;
	if (pf == pf_money_code)
		return currency_words;
	if (pf == pf_date_mdy)
		return months;
	if (pf == pf_date_relative)
		return relative_words;
	if (pf == pf_person_title)
		return title_words;
	if (pf == pf_org_of)
		return org_of_words;
	return NULL;
}

#define START_WORD_MAX 10		/* letters in the longest start word */
#define START_WORD_SLOTS 1024

/* The slot of n letters whose caseless hash (h * 31 + (letter | 0x20), from 0) is h. */
static inline uint32
start_word_slot_of(uint32 h, int n)
{
	h += (uint32) n;
	return (h ^ (h >> 10)) & (START_WORD_SLOTS - 1);
}

/* The slot of the letters w[0..n) in any case. */
static uint32
start_word_slot(const char *w, int n)
{
	uint32		h = 0;

	for (int i = 0; i < n; i++)
		h = h * 31 + (w[i] | 0x20);
	return start_word_slot_of(h, n);
}

/*
 * Most characters of log lines start numbers, where a dozen rules are
 * candidates; the digits and the byte after them rule most out at once.
 * True when the rule can match at a run of r ASCII digits (DIGIT_RUN_MAX:
 * that many or more) followed by the ASCII byte c (0: the text's end):
 * what its pattern needs next, spelt out (callers let a non-ASCII byte
 * pass, it may be a Unicode digit or space).
 */
#define DIGIT_RUN_MAX 9

static bool
may_start_at_digits(const Rule *rule, int r, int c)
{
	RulePrefilter pf = rule->maybe;
	bool		hex_letter = HEX(c) && !DIGIT(c);

	if (pf == pf_email)			/* [A-Za-z0-9._%+-]+@ */
		return IS(c, BC_EMAIL) || c == '@';
	if (pf == pf_uuid)			/* [0-9a-fA-F]{8}- */
		return r == 8 ? c == '-' : r < 8 && hex_letter;
	if (pf == pf_card)			/* \d{4}[ -]?\d{4} */
		return r > 4 || (r == 4 && (c == ' ' || c == '-'));
	if (pf == pf_ipv4)			/* \d{1,3}\. */
		return r <= 3 && c == '.';
	if (pf == pf_ipv6)			/* a run of hex digits and colons with two colons */
		return c == ':' || hex_letter;
	if (pf == pf_phone_nanp)	/* 1[ .-] or \d{3}[ .-] */
		return (r == 1 || r == 3) && IS(c, BC_SEP);
	if (pf == pf_money_after)	/* ,\d{3} or .\d, \s?, a multiplier or currency */
		return c == ',' || c == '.' || SPACE(c) || LETTER(c);
	if (pf == pf_percent)		/* .\d, \s?, % or p(er)... */
		return c == '.' || c == '%' || c == 'p' || SPACE(c);
	if (pf == pf_quantity)		/* .\d, \s?, a unit */
		return c == '.' || SPACE(c) || LETTER(c);
	if (pf == pf_date_iso)		/* \d{4}- */
		return r == 4 && c == '-';
	if (pf == pf_date_slash)	/* \d{1,2}/ */
		return r <= 2 && c == '/';
	if (pf == pf_date_dmy)		/* (?i)\d{1,2}(?:st|nd|rd|th)?\s+ */
		return r <= 2 && (SPACE(c) || strchr("sSnNrRtT", c) != NULL);
	if (pf == pf_date_relative) /* \d{1,3}\s+ */
		return r <= 3 && SPACE(c);
	if (pf == pf_time_colon)	/* \d{1,2}: */
		return r <= 2 && c == ':';
	if (pf == pf_time_ampm)		/* \d{1,2}\s?[ap] (caseless) */
		return r <= 2 && (SPACE(c) || (c | 0x20) == 'a' || (c | 0x20) == 'p');
	return true;
}

/* Whether a word of words starts with the byte c (0: none does). */
static bool
starts_a_word(const char *const *words, int c)
{
	for (; *words; words++)
		if (c != 0 && (unsigned char) (*words)[0] == c)
			return true;
	return false;
}

/*
 * The same at r digits, an ASCII space and then the ASCII byte c (0: the
 * end), for the rules that may_start_at_digits lets go on after a space:
 * the first bytes of the words their patterns want there.
 */
static bool
may_start_at_digits_space(const Rule *rule, int r, int c)
{
	RulePrefilter pf = rule->maybe;
	int			lower = c | 0x20;

	if (pf == pf_money_after)	/* \s?, a multiplier or a currency */
		return starts_a_word(multiplier_words, c) || starts_a_word(currency_words, c);
	if (pf == pf_percent)		/* \s?, % or percent, per cent */
		return c == '%' || starts_a_word(percent_words, c);
	if (pf == pf_quantity)		/* \s?, a unit */
		return starts_a_word(unit_words, c);
	if (pf == pf_date_dmy)		/* (?i)\s+, a month */
		return SPACE(c) || (c != 0 && strchr("jfmasond", lower) != NULL);
	if (pf == pf_date_relative) /* (?i)\s+, days?, weeks?, months?, years? */
		return SPACE(c) || (c != 0 && strchr("dwmy", lower) != NULL);
	if (pf == pf_time_ampm)		/* (?i)\s?[ap] */
		return lower == 'a' || lower == 'p';
	if (pf == pf_card)			/* \d{4} \d{4}, unless 13 digits or more came first */
		return r == DIGIT_RUN_MAX || DIGIT(c);
	if (pf == pf_phone_nanp)	/* 1 (ddd) or 1 ddd, ddd ddd */
		return DIGIT(c) || (r == 1 && c == '(');
	return true;
}

StaticAssertDecl(lengthof(rules) <= 32, "rule sets are 32-bit masks");

/*
 * The rules compiled anchored (PCRE2_ANCHORED, so JIT code runs them at a
 * given position), their label numbers, and the scanner's tables: the rules
 * a byte can start (first), the rules an ASCII byte cannot come before
 * (not_after), what a number allows (after_digits), and the bytes the rules
 * cannot do without.  In UTF-8 no match starts at a continuation byte.
 */
typedef struct RuleSet
{
	AimlPattern *pats[NRULES];
	int			label[NRULES];
	uint32		first[256];
	uint32		not_after[256];
	uint32		after_digits[DIGIT_RUN_MAX + 1][256];
	uint32		after_digits_space[DIGIT_RUN_MAX + 1][256];
	bool		inside_word[256];	/* word bytes no rule starts at after a word byte */
	bool		digits_start_runs_only; /* no rule starts at a digit after a digit */
	uint32		word_rules;		/* the rules with start words */
	uint32		pair_rules;		/* those and the rules start_pair rules out at letters */
	uint32		start_word[START_WORD_SLOTS];	/* of those, the rules a word's slot may start */
	uint32		start_pair[26][27]; /* and those its first two letters may (27th: one letter) */
	char		needed[16];		/* the bytes of the rules' needs, each once */
	int			nneeded;
	uint32		needing[16];	/* of each needed[k], the rules that need it */
	uint32		rules_of_label[NLABELS];
	uint32		digit_first;	/* the rules whose non-ASCII first character is a \d */
	AimlPattern *digit_probe;	/* \d, anchored */
} RuleSet;

static RuleSet *compiled = NULL;

/* The rules and the scanner's tables, built once per backend in a long-lived context. */
static RuleSet *
compiled_rules(void)
{
	MemoryContext cxt;
	RuleSet    *rs;
	const char *const *start_words;
	bool		utf8 = GetDatabaseEncoding() == PG_UTF8;

	if (compiled != NULL)
		return compiled;
	cxt = AllocSetContextCreate(TopMemoryContext, "aiml entity rules", ALLOCSET_SMALL_SIZES);
	PG_TRY();
	{
		Assert(label_number("ORG") == LABEL_ORG && label_number("PERSON") == LABEL_PERSON &&
			   label_number("LOCATION") == LABEL_LOCATION);
		rs = MemoryContextAllocZero(cxt, sizeof(RuleSet));
		init_byte_classes();
		rs->digit_probe = aiml_pattern_compile("\\d", 2, aiml_pattern_encoding_options() |
											   PCRE2_UCP | PCRE2_ANCHORED, cxt, "entity rule");
		for (int i = 0; i < (int) NRULES; i++)
		{
			uint32		bit = (uint32) 1 << i;

			rs->pats[i] = aiml_pattern_compile(rules[i].pattern, strlen(rules[i].pattern),
											   aiml_pattern_encoding_options() |
											   PCRE2_UCP | PCRE2_ANCHORED,
											   cxt, "entity rule");
			rs->label[i] = label_number(rules[i].label);
			rs->rules_of_label[rs->label[i]] |= bit;
			/* a hex run: a letter can start one only before a hex letter or a non-letter */
			if (rules[i].maybe == pf_ipv6 || rules[i].maybe == pf_uuid)
			{
				rs->pair_rules |= bit;
				for (int a = 0; a < 6; a++)
					for (int b = 0; b <= 26; b++)
						if (b < 6 || b == 26)
							rs->start_pair[a][b] |= bit;
			}
			if ((start_words = rule_start_words(&rules[i])) != NULL)
			{
				rs->word_rules |= bit;
				rs->pair_rules |= bit;
				for (const char *const *w = start_words; *w; w++)
				{
					/* only letters count: "pounds sterling" is found as "pounds" */
					int			n = strspn(*w, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

					Assert(n <= START_WORD_MAX);
					rs->start_word[start_word_slot(*w, n)] |= bit;
					rs->start_pair[((*w)[0] | 0x20) - 'a'][n > 1 ? ((*w)[1] | 0x20) - 'a' : 26] |= bit;
				}
			}
			for (const char *n = rules[i].needs; *n; n++)
			{
				char	   *k = memchr(rs->needed, *n, rs->nneeded);

				if (k == NULL)
				{
					Assert(rs->nneeded < (int) sizeof(rs->needed));
					k = &rs->needed[rs->nneeded++];
					*k = *n;
				}
				rs->needing[k - rs->needed] |= bit;
			}
			mark_bytes(rs->first, rules[i].first, bit);
			mark_bytes(rs->not_after, rules[i].not_after, bit);
			/* a \d-first rule is a candidate at a non-ASCII digit only: see HI_DIGIT */
			if (rules[i].non_ascii_first == NA_DIGIT)
				rs->digit_first |= bit;
			for (int b = utf8 ? 0xC0 : 0x80; b < 256; b++)
				rs->first[b] |= rules[i].non_ascii_first == NA_ANY ? bit :
					rules[i].non_ascii_first == NA_DIGIT ? HI_DIGIT : 0;
			for (int r = 1; r <= DIGIT_RUN_MAX; r++)
				for (int b = 0; b < 256; b++)
				{
					if (HI(b) || may_start_at_digits(&rules[i], r, b))
						rs->after_digits[r][b] |= bit;
					if (HI(b) || may_start_at_digits_space(&rules[i], r, b))
						rs->after_digits_space[r][b] |= bit;
				}
		}
	}
	PG_CATCH();
	{
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	rs->digits_start_runs_only = true;
	for (int d = '0'; d <= '9'; d++)
		for (int e = '0'; e <= '9'; e++)
			if ((rs->first[d] & ~rs->not_after[e]) != 0)
				rs->digits_start_runs_only = false;
	for (int b = 0; b < 256; b++)
	{
		rs->inside_word[b] = WORDCHAR(b);
		for (int c = 0; c < 128 && rs->inside_word[b]; c++)
			if (WORDCHAR(c) && (rs->first[b] & ~rs->not_after[c]) != 0)
				rs->inside_word[b] = false;
	}
	compiled = rs;
	return rs;
}

/*
 * Whether the non-ASCII character at p is a digit to the patterns' \d (with
 * PCRE2_UCP, any Unicode decimal digit; in a single-byte encoding none is).
 * The rules that start with a \d ask here first: their prefilters hand
 * every non-ASCII character to PCRE2, and accented words put one in most
 * texts.  PCRE2 itself answers, once per character of the Basic
 * Multilingual Plane in a backend.
 */
static bool
digit_character_at(const RuleSet *rs, const char *s, int len, int p)
{
	static uint64 known[65536 / 64];
	static uint64 digit[65536 / 64];
	pg_wchar	ch = (unsigned char) s[p];
	bool		is_digit;

	if (GetDatabaseEncoding() == PG_UTF8)
		ch = p + pg_utf_mblen((const unsigned char *) s + p) <= len ?
			utf8_to_unicode((const unsigned char *) s + p) : 0x10FFFF + 1;
	if (ch < 65536 && (known[ch / 64] >> (ch % 64)) & 1)
		return (digit[ch / 64] >> (ch % 64)) & 1;
	is_digit = aiml_pattern_match(rs->digit_probe, s, len, p, 0, "aiml.extract_entities");
	if (ch < 65536)
	{
		known[ch / 64] |= UINT64CONST(1) << (ch % 64);
		if (is_digit)
			digit[ch / 64] |= UINT64CONST(1) << (ch % 64);
	}
	return is_digit;
}

/*
 * Of the pair rules, those that may match at the letters at p: those their
 * first two letters allow; of the rules with start words, only those of the
 * letters' slot, or all when a non-ASCII byte follows the letters (it may
 * be a letter, or a caseless k or s of a pattern).
 */
static inline uint32
letter_start_rules(const RuleSet *rs, const char *s, int p, int len)
{
	int			n = 0;
	uint32		h = 0;
	int			second = p + 1 < len ? (unsigned char) s[p + 1] : 0;
	uint32		pair;

	/* most words are ruled out by their first two letters */
	if (HI(second))
		return ~(uint32) 0;
	pair = rs->start_pair[(s[p] | 0x20) - 'a'][LETTER(second) ? (second | 0x20) - 'a' : 26];
	if ((pair & rs->word_rules) == 0)
		return pair;
	for (; p + n < len && LETTER((unsigned char) s[p + n]); n++)
	{
		if (n == START_WORD_MAX)
			return pair & ~rs->word_rules;
		h = h * 31 + (s[p + n] | 0x20);
	}
	if (p + n < len && HI((unsigned char) s[p + n]))
		return ~(uint32) 0;
	return pair & (~rs->word_rules | rs->start_word[start_word_slot_of(h, n)]);
}

/* ---- candidates ---- */

/* Candidates and rule matches of a short text fit in arrays on the stack. */
#define FEW_SPANS 32

typedef struct Candidates
{
	EntityRow  *rows;
	int		   *prio;
	bool	   *from_model;
	int			n;
	int			cap;
	const char *s;
	bool		want[NLABELS];
	EntityRow	few_rows[FEW_SPANS];	/* the arrays until they outgrow these */
	int			few_prio[FEW_SPANS];
	bool		few_from_model[FEW_SPANS];
} Candidates;

/* No candidates yet, in the arrays on the stack. */
static void
candidates_init(Candidates *c, const char *s)
{
	c->rows = c->few_rows;
	c->prio = c->few_prio;
	c->from_model = c->few_from_model;
	c->n = 0;
	c->cap = FEW_SPANS;
	c->s = s;
	memset(c->want, 0, sizeof(c->want));
}

/* A copy of array (n elements of size) with room for cap, replacing it unless it is few. */
static void *
grown_array(void *array, const void *few, Size size, int n, int cap)
{
	void	   *bigger;

	if (array != few)
		return repalloc_huge(array, size * cap);
	bigger = palloc_extended(size * cap, MCXT_ALLOC_HUGE);
	memcpy(bigger, array, size * n);
	return bigger;
}

/* Adds a candidate span; overlaps are resolved later, all at once. */
static void
add_candidate(Candidates *c, int label, int start, int end, char *text,
			  char *normalized, double score)
{
	if (c->n == c->cap)
	{
		c->cap *= 2;
		c->rows = grown_array(c->rows, c->few_rows, sizeof(EntityRow), c->n, c->cap);
		c->prio = grown_array(c->prio, c->few_prio, sizeof(int), c->n, c->cap);
		c->from_model = grown_array(c->from_model, c->few_from_model, sizeof(bool), c->n,
									c->cap);
	}
	c->rows[c->n].label = label_names[label];
	c->rows[c->n].start = start;
	c->rows[c->n].end = end;
	c->rows[c->n].text = text;
	c->rows[c->n].normalized = normalized;
	c->rows[c->n].score = score;
	c->prio[c->n] = label;
	c->from_model[c->n] = false;
	c->n++;
}

/*
 * Whether byte b occurs in s[0..len); '0' stands for a digit, which in
 * UTF-8 may also be a non-ASCII one (\d with PCRE2_UCP).
 */
static bool
byte_occurs(const char *s, int len, unsigned char b)
{
	bool		utf8;

	if (b != '0')
		return memchr(s, b, len) != NULL;
	utf8 = GetDatabaseEncoding() == PG_UTF8;
	for (int i = 0; i < len; i++)
		if (DIGIT(s[i]) || (utf8 && HI((unsigned char) s[i])))
			return true;
	return false;
}

/*
 * The rules of wanted whose needed bytes all occur in s[0..len): each byte
 * is looked for once, and only while a rule left needs it (memchr answers a
 * byte faster than building a table of them all).
 */
static uint32
rules_with_needed_bytes(const RuleSet *rs, const char *s, int len, uint32 wanted)
{
	for (int k = 0; k < rs->nneeded; k++)
		if ((rs->needing[k] & wanted) != 0 && !byte_occurs(s, len, (unsigned char) rs->needed[k]))
			wanted &= ~rs->needing[k];
	return wanted;
}

/* A rule's match, kept until all are known. */
typedef struct RuleHit
{
	int			rule;
	int			start;
	int			end;
	char	   *text;
	char	   *normalized;
	double		score;
} RuleHit;

/*
 * Every match of every wanted rule over s[0..len), in one pass: at each
 * character the rules it can start (and its predecessor does not rule out)
 * run their prefilter, and those that pass their anchored pattern.  A rule
 * resumes after the end of its last match, as a scan with the unanchored
 * pattern would, so the matches are the same; they are added rule by rule,
 * in text order, as such scans would add them.
 */
static void
run_rules(Candidates *c, const char *s, int len, int refj)
{
	RuleSet    *rs = compiled_rules();
	uint32		active = 0;
	int			resume[NRULES];
	TextScan		sc;
	RuleHit		few_hits[FEW_SPANS];
	RuleHit    *hits = few_hits;
	int			nhits = 0,
				cap = FEW_SPANS;

	for (int k = 0; k < (int) NLABELS; k++)
		if (c->want[k])
			active |= rs->rules_of_label[k];
	memset(resume, 0, sizeof(resume));
	active = rules_with_needed_bytes(rs, s, len, active);
	if (active == 0)
		return;
	if ((active & rs->digit_first) != 0)
		active |= HI_DIGIT;

	memset(&sc, 0, sizeof(sc));
	sc.s = s;
	sc.len = len;
	sc.org_break = sc.name_break = -1;
	sc.number_at = -1;
	sc.next_at = -1;
	for (int p = 0; p < len;)
	{
		int			stop = Min(len, p + 65536);

		CHECK_FOR_INTERRUPTS();
		for (; p < stop; p++)
		{
			unsigned char c = (unsigned char) s[p];
			uint32		cand = rs->first[c] & active;
			int			run_end = p + 1;	/* past the digits starting at p */

			if (cand == 0)
				continue;
			if (p > 0)
			{
				unsigned char prev = (unsigned char) s[p - 1];

				/* the rest of a word, where no rule starts (most bytes of prose) */
				if (rs->inside_word[c] && WORDCHAR(prev))
				{
					while (p + 1 < len && rs->inside_word[(unsigned char) s[p + 1]])
						p++;
					continue;
				}
				cand &= ~rs->not_after[prev];
			}
			if ((cand & rs->pair_rules) != 0 && LETTER(c))
				cand &= letter_start_rules(rs, s, p, len) | ~rs->pair_rules;
			if (DIGIT(c))
			{
				while (run_end < len && DIGIT(s[run_end]))
					run_end++;
				if (cand != 0)
				{
					int			r = Min(run_end - p, DIGIT_RUN_MAX);
					int			after = run_end < len ? (unsigned char) s[run_end] : 0;

					cand &= rs->after_digits[r][after];
					if (SPACE(after) && cand != 0)
						cand &= rs->after_digits_space[r][run_end + 1 < len ? (unsigned char) s[run_end + 1] : 0];
				}
			}
			else if ((cand & HI_DIGIT) != 0)
			{
				cand &= ~HI_DIGIT;
				if (digit_character_at(rs, s, len, p))
					cand |= rs->digit_first & active &
						~(p > 0 ? rs->not_after[(unsigned char) s[p - 1]] : 0);
			}
			while (cand != 0)
			{
				int			i = pg_rightmost_one_pos32(cand);
				RuleMatch	m;

				cand &= cand - 1;
				if (p < resume[i])
					continue;
				if (!rules[i].maybe(&sc, p))
				{
					/* a refused match still ends where a scan would resume */
					if (sc.rejected_end > p)
						resume[i] = sc.rejected_end;
					sc.rejected_end = 0;
					continue;
				}
				m.s = s;
				if (sc.certain_end > p)
				{
					/* the prefilter read the match (and the groups, when it gives them) */
					m.ov = sc.certain_groups > 0 ? sc.certain_ov : NULL;
					m.ngroups = sc.certain_groups;
					m.start = p;
					m.end = sc.certain_end;
					sc.certain_end = 0;
					sc.certain_groups = 0;
				}
				else
				{
					if (!aiml_pattern_match(rs->pats[i], s, len, p, 0, "aiml.extract_entities"))
						continue;
					m.ov = pcre2_get_ovector_pointer(rs->pats[i]->match_data);
					m.ngroups = pcre2_get_ovector_count(rs->pats[i]->match_data);
					m.start = (int) m.ov[0];
					m.end = (int) m.ov[1];
				}
				m.text = m.normalized = NULL;
				m.score = 1.0;
				m.refj = refj;
				resume[i] = m.end > m.start ? m.end : m.start + 1;
				if (m.end > m.start && rules[i].handler(&m))
				{
					if (nhits == cap)
					{
						cap *= 2;
						hits = grown_array(hits, few_hits, sizeof(RuleHit), nhits, cap);
					}
					hits[nhits].rule = i;
					hits[nhits].start = m.start;
					hits[nhits].end = m.end;
					hits[nhits].text = m.text;
					hits[nhits].normalized = m.normalized;
					hits[nhits].score = m.score;
					nhits++;
				}
			}
			if (rs->digits_start_runs_only)
				p = run_end - 1;
		}
	}
	/* rule by rule, each in text order: a counting sort by rule */
	if (nhits > 0)
	{
		int			from[NRULES + 1];
		int			few_order[FEW_SPANS];
		int		   *order = nhits <= FEW_SPANS ? few_order : palloc(sizeof(int) * nhits);

		memset(from, 0, sizeof(from));
		for (int h = 0; h < nhits; h++)
			from[hits[h].rule + 1]++;
		for (int i = 0; i < (int) NRULES; i++)
			from[i + 1] += from[i];
		for (int h = 0; h < nhits; h++)
			order[from[hits[h].rule]++] = h;
		for (int k = 0; k < nhits; k++)
		{
			RuleHit    *hit = &hits[order[k]];

			add_candidate(c, rs->label[hit->rule], hit->start, hit->end, hit->text,
						  hit->normalized, hit->score);
		}
		if (order != few_order)
			pfree(order);
		if (hits != few_hits)
			pfree(hits);
	}
}

/* True when every token of toks[0..n) starts with a capital (or a digit-free symbol). */
static bool
all_capitalised(const char *s, const NerToken *toks, int n, bool utf8)
{
	for (int i = 0; i < n; i++)
		if ((toks[i].flags & NER_TOK_WORD) &&
			!ner_is_upper_at(s + toks[i].start, toks[i].end - toks[i].start, utf8) &&
			!(toks[i].end - toks[i].start <= 3 && i > 0 && i < n - 1))
			return false;
	return true;
}

/*
 * Capitalised gazetteer phrases: countries, regions, cities; organizations.
 * A phrase is looked up at each token that can start one: a capitalised
 * word whose first byte starts some LOCATION or ORG phrase (the gazetteer
 * knows which bytes do); one probe, and one more for each following token of
 * the same sentence while a longer phrase starts with the tokens so far.
 *
 * The tokens come from the tagger when a model runs, else from this file's
 * own pass, which tokenizes only what can matter: a run of bytes between
 * ASCII spaces without a capital letter or a non-ASCII byte holds no token
 * that can start a phrase, so unless a phrase started just before may go on
 * into it (its first word starts a longer phrase), it is skipped (on prose,
 * more than half the text).  A sentence end in it would matter only to such
 * a phrase; the skip ends the run of tokens looked up together as a
 * sentence end does.  Tokens never span ASCII spaces, so the tokens read are
 * those of the whole text.
 */
#define GAZ_RUN_MAX 512
#define GAZ_FOLLOW (NER_GAZ_MAX_WORDS - 1)	/* tokens a phrase has after its first */

typedef struct GazetteerPass
{
	Candidates *c;				/* and its text, c->s */
	const bool *span_starts;	/* ner_gazetteer_span_starts() */
	bool		nonword_starts; /* a phrase starts with a token not a word */
	bool		utf8;
	NerToken	run[GAZ_RUN_MAX];	/* the sentence's tokens since a skip */
	bool		starts[GAZ_RUN_MAX];	/* may_start_phrase of each */
	NerGazWord	words[GAZ_RUN_MAX]; /* of each start, the word's gazetteer entry */
	int			n;
	int			done;			/* run[0..done) were looked up */
	int			owed;			/* tokens a phrase begun in run may still take */
} GazetteerPass;

/*
 * A pass over the text of c.  The state (15 kB) is allocated once per
 * backend: allocating it per text cost a malloc and a free each time.
 */
static GazetteerPass *
gazetteer_pass(Candidates *c)
{
	static GazetteerPass *gp = NULL;

	if (gp == NULL)
		gp = MemoryContextAlloc(TopMemoryContext, sizeof(GazetteerPass));

	gp->c = c;
	gp->span_starts = ner_gazetteer_span_starts(&gp->nonword_starts);
	gp->utf8 = GetDatabaseEncoding() == PG_UTF8;
	gp->n = gp->done = gp->owed = 0;
	return gp;
}

/*
 * Whether a LOCATION or ORG phrase can start at token t, its gazetteer
 * entry into *w, and *longer: whether a phrase of more tokens can.
 */
static inline bool
may_start_phrase(const GazetteerPass *gp, const NerToken *t, NerGazWord *w, bool *longer)
{
	const char *p = gp->c->s + t->start;

	*longer = false;
	if (!gp->span_starts[(unsigned char) *p])
		return false;
	if ((t->flags & NER_TOK_WORD) ? !ner_is_upper_at(p, t->end - t->start, gp->utf8)
		: !gp->nonword_starts)
		return false;
	ner_gazetteer_word_hash(p, t->end - t->start, w);
	ner_gazetteer_word_types(w);
	return ner_gazetteer_word_may_start(w, NER_GAZ_LOCATION | NER_GAZ_ORG, longer);
}

/* Looks up the phrases starting at run[done..upto), each with the tokens up to run[n). */
static void
gazetteer_lookups(GazetteerPass *gp, int upto)
{
	const char *s = gp->c->s;
	const NerToken *toks = gp->run;

	for (int i = gp->done; i < upto; i++)
	{
		NerGazHit	h;
		int			k;
		int			label;

		if (!gp->starts[i])
			continue;
		h = ner_gazetteer_longest(s, toks + i, gp->n - i, &gp->words[i]);
		k = h.length;
		if (k == 0 || !all_capitalised(s, toks + i, k, gp->utf8))
			continue;
		if (h.begin & NER_GAZ_LOCATION)
			label = LABEL_LOCATION;
		else if (h.begin & NER_GAZ_ORG)
			label = LABEL_ORG;
		else
			continue;
		if (gp->c->want[label])
			add_candidate(gp->c, label, toks[i].start, toks[i + k - 1].end, NULL,
						  pnstrdup(s + toks[i].start, toks[i + k - 1].end - toks[i].start),
						  0.8);
	}
	gp->done = upto;
}

/* The end of a sentence, of the text, or a skip: the run's phrases are known. */
static void
gazetteer_end_run(GazetteerPass *gp)
{
	gazetteer_lookups(gp, gp->n);
	gp->n = gp->done = gp->owed = 0;
}

/* The next token of the text. */
static void
gazetteer_add_token(GazetteerPass *gp, const NerToken *t)
{
	bool		longer;

	if (t->flags & NER_TOK_SENT_START)
		gazetteer_end_run(gp);
	if (gp->n == GAZ_RUN_MAX)
	{
		/* the phrases that cannot reach the next token, then keep the rest */
		gazetteer_lookups(gp, gp->n - GAZ_FOLLOW);
		memmove(gp->run, gp->run + gp->done, sizeof(NerToken) * (gp->n - gp->done));
		memmove(gp->starts, gp->starts + gp->done, sizeof(bool) * (gp->n - gp->done));
		memmove(gp->words, gp->words + gp->done, sizeof(NerGazWord) * (gp->n - gp->done));
		gp->n -= gp->done;
		gp->done = 0;
	}
	gp->starts[gp->n] = may_start_phrase(gp, t, &gp->words[gp->n], &longer);
	/* a token no phrase can start or take ends the run, as a skip does */
	if (!gp->starts[gp->n] && gp->owed == 0)
	{
		if (gp->n > 0)
			gazetteer_end_run(gp);
		return;
	}
	gp->run[gp->n] = *t;
	gp->n++;
	/* only a phrase of more tokens is owed the next ones */
	if (longer)
		gp->owed = GAZ_FOLLOW;
	else if (gp->owed > 0)
		gp->owed--;
}

/* The tagger's sentences (NerSentenceSink). */
static void
gazetteer_sentence(const char *s, const NerToken *toks, int n, void *arg)
{
	for (int i = 0; i < n; i++)
		gazetteer_add_token(arg, &toks[i]);
}

/*
 * Bytes for the scan of run_gazetteer: 0 ordinary, GAZ_MATTERS one that
 * makes a run between ASCII spaces worth tokenizing (a capital or a
 * non-ASCII byte, see above), GAZ_SPACE an ASCII space.
 */
#define GAZ_MATTERS 1
#define GAZ_SPACE 2
static uint8 gaz_byte[256];
static bool gaz_byte_ready = false;

/*
 * The first position from q whose byte is an ASCII space, a capital or not
 * ASCII (len: none), eight bytes at a time: most runs are short words.
 */
static int
gaz_run_end(const char *s, int q, int len)
{
	for (; q + 8 <= len; q += 8)
	{
		uint64		w,
					low,
					marked;

		memcpy(&w, s + q, 8);
		low = w & UINT64CONST(0x7f7f7f7f7f7f7f7f);
		/* bytes 0x41 to 0x5a (exact), below 0x21 or not ASCII (a superset) */
		marked = ((UINT64CONST(0x0101010101010101) * (127 + 0x5b) - low) & ~w &
				  (low + UINT64CONST(0x0101010101010101) * (127 - 0x40)) &
				  UINT64CONST(0x8080808080808080)) | space_or_high_bytes(w);
		for (; marked != 0; marked &= marked - 1)
		{
			int			e = q + pg_rightmost_one_pos64(marked) / 8;

			if (gaz_byte[(unsigned char) s[e]] != 0)
				return e;
		}
	}
	for (; q < len && gaz_byte[(unsigned char) s[q]] == 0; q++)
		;
	return q;
}

/* The gazetteer's candidates in s[0..len), without a model. */
static void
run_gazetteer(Candidates *c, const char *s, int len)
{
	GazetteerPass *gp = gazetteer_pass(c);
	NerTokenizer tz;
	NerToken	tok;
	int			p = 0;
	int			steps = 0;

	if (!gaz_byte_ready)
	{
		for (int b = 0; b < 256; b++)
			gaz_byte[b] = b == ' ' || (b >= '\t' && b <= '\r') ? GAZ_SPACE :
				(b >= 'A' && b <= 'Z') || b >= 0x80 ? GAZ_MATTERS : 0;
		gaz_byte_ready = true;
	}
	ner_tokenizer_init(&tz, s, len);
	while (p < len)
	{
		int			q = p,
					e;
		int			k = 0;

		while (q < len && gaz_byte[(unsigned char) s[q]] == GAZ_SPACE)
			q++;
		if (q == len)
			break;
		/* up to the next space, or to the first byte that matters */
		e = gaz_run_end(s, q, len);
		k = e < len ? gaz_byte[(unsigned char) s[e]] : 0;
		if (k != GAZ_MATTERS && gp->owed == 0 && !gp->nonword_starts)
		{
			/* its tokens take a sentence start, if one is due, and set none */
			gazetteer_end_run(gp);
			tz.pos = e;
			tz.next_starts_sentence = false;
			p = e;
			if (++steps % 4096 == 0)
				CHECK_FOR_INTERRUPTS();
			continue;
		}
		/*
		 * Tokens up to one that ends before a space (tokens never span one);
		 * the tokenizer skips the spaces before the first itself, marking a
		 * line break.
		 */
		tz.pos = p;
		while (ner_next_token(&tz, &tok))
		{
			gazetteer_add_token(gp, &tok);
			if (++steps % 4096 == 0)
				CHECK_FOR_INTERRUPTS();
			if (tz.pos >= len || gaz_byte[(unsigned char) s[tz.pos]] == GAZ_SPACE)
				break;
			/* nothing owed and no byte that matters left before the space: skip the rest */
			if (gp->owed == 0 && !gp->nonword_starts)
			{
				/* byte by byte: what is left of a run is short, gaz_run_end costs more */
				for (e = tz.pos; e < len && gaz_byte[(unsigned char) s[e]] == 0; e++)
					;
				if (e == len || gaz_byte[(unsigned char) s[e]] == GAZ_SPACE)
				{
					gazetteer_end_run(gp);
					tz.pos = e;
					tz.next_starts_sentence = false;
					break;
				}
			}
		}
		p = tz.pos;
	}
	gazetteer_end_run(gp);
}

/*
 * Model spans less confident than this, or starting with a lower-case ASCII
 * letter, are left out of extract_entities (aiml.ner returns them all): in
 * edited text such spans are mostly mistakes.
 */
#define NER_MIN_SCORE 0.5

typedef struct ModelSink
{
	Candidates *c;
	int			map[NER_MAX_LABELS];	/* model label -> label number, or -1 */
	GazetteerPass *gazetteer;
} ModelSink;

/* Sink of the default model in extract_entities. */
static void
model_span(const NerSpan *span, void *arg)
{
	ModelSink  *ms = arg;
	int			label = ms->map[span->label];
	int			n = span->end - span->start;
	char	   *norm;
	int			k = 0;

	if (label < 0 || !ms->c->want[label] || span->score < NER_MIN_SCORE ||
		(ms->c->s[span->start] >= 'a' && ms->c->s[span->start] <= 'z'))
		return;
	norm = palloc(n + 1);
	for (int i = 0; i < n; i++)
	{
		char		ch = ms->c->s[span->start + i];

		if (isspace((unsigned char) ch))
		{
			if (k > 0 && norm[k - 1] != ' ')
				norm[k++] = ' ';
		}
		else
			norm[k++] = ch;
	}
	norm[k] = '\0';
	add_candidate(ms->c, label, span->start, span->end, NULL, norm, span->score);
	ms->c->from_model[ms->c->n - 1] = true;
}

/*
 * The label number of each label of model m (-1: none of ours), into map.
 * The last model's labels and map are kept: looking every label up among
 * ours cost a thousand instructions a text, comparing them with the last
 * model's a tenth of that.
 */
static void
model_label_map(const NerModel *m, int *map)
{
	static char last_labels[NER_MAX_LABELS][NAMEDATALEN];
	static int	last_map[NER_MAX_LABELS];
	static int	last_n = -1;
	int			n = ner_model_nlabels(m);
	bool		same = n == last_n;

	for (int i = 0; i < n && same; i++)
		same = strcmp(ner_model_label(m, i), last_labels[i]) == 0;
	if (!same)
	{
		for (int i = 0; i < NER_MAX_LABELS; i++)
			last_map[i] = i < n ? label_number(ner_model_label(m, i)) : -1;
		last_n = n;
		for (int i = 0; i < n; i++)
		{
			/* a label too long to keep whole leaves nothing kept */
			if (strlcpy(last_labels[i], ner_model_label(m, i), NAMEDATALEN) >= NAMEDATALEN)
				last_n = -1;
		}
	}
	memcpy(map, last_map, sizeof(last_map));
}

/* The gazetteer's pass over the sentences the tagger hands out. */
static void
model_sentence(const char *s, const NerToken *toks, int n, void *arg)
{
	gazetteer_sentence(s, toks, n, ((ModelSink *) arg)->gazetteer);
}

/*
 * The PERSON, ORG and LOCATION spans of model m, and the gazetteer's on the
 * tagger's tokens (one tokenization for both); spans of the model's other
 * labels (MISC, or a trained model's own) are not extract_entities' to return.
 */
static void
run_model_and_gazetteer(Candidates *c, const NerModel *m, const char *s, int len)
{
	ModelSink	ms;

	ms.c = c;
	model_label_map(m, ms.map);
	ms.gazetteer = gazetteer_pass(c);
	ner_tag_text_sentences(m, s, len, model_span, model_sentence, &ms);
	gazetteer_end_run(ms.gazetteer);
}

/* ---- the overlap rule ---- */

/*
 * Characters in p[0..n) of valid text: in UTF-8 the bytes that start one,
 * in single-byte encodings the bytes.
 */
static int
char_count(const char *p, int n)
{
	int			k = 0,
				i = 0;

	if (GetDatabaseEncoding() != PG_UTF8)
		return pg_database_encoding_max_length() == 1 ? n : pg_mbstrlen_with_len(p, n);
	/* eight ASCII bytes at a time: most text before and inside entities is ASCII */
	for (; i + 8 <= n; i += 8)
	{
		uint64		w;

		memcpy(&w, p + i, 8);
		if ((w & UINT64CONST(0x8080808080808080)) == 0)
			k += 8;
		else
			for (int j = i; j < i + 8; j++)
				k += (p[j] & 0xC0) != 0x80;
	}
	for (; i < n; i++)
		k += (p[i] & 0xC0) != 0x80;
	return k;
}

/*
 * Whether s[0..n) is all ASCII: then its characters are its bytes, in every
 * server encoding, and char_count need not run.
 */
static bool
text_is_ascii(const char *s, int n)
{
	int			k = n & ~7;

	if (!is_valid_ascii((const unsigned char *) s, k))
		return false;
	for (; k < n; k++)
		if (HI((unsigned char) s[k]))
			return false;
	return true;
}

/* Characters in s[from..to), of a text that is all ASCII when ascii. */
static inline int
chars_between(const char *s, int from, int to, bool ascii)
{
	return ascii ? to - from : char_count(s + from, to - from);
}

typedef struct Ranked
{
	int			idx;
	int			nchars;
	int			prio;
	int			start;
	bool		from_model;
	double		score;
} Ranked;

/*
 * The overlap rule's order (see the top of the file), then the order the
 * candidates were found in, so that it is total and any sort gives it.
 */
static inline int
ranked_cmp(const Ranked *x, const Ranked *y)
{
	if (x->nchars != y->nchars)
		return x->nchars > y->nchars ? -1 : 1;
	if (x->prio != y->prio)
		return x->prio < y->prio ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->from_model != y->from_model)
		return x->from_model ? 1 : -1;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* sort_ranked(): a few dozen candidates per text, sorted with the comparison inlined */
#define ST_SORT sort_ranked
#define ST_ELEMENT_TYPE Ranked
#define ST_COMPARE(a, b) ranked_cmp(a, b)
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/* Whether row shares a byte with one of kept[0..n). */
static bool
overlaps_kept(const EntityRow *row, const EntityRow *kept, int n)
{
	if (row->start >= row->end)
		return false;
	for (int i = 0; i < n; i++)
		if (row->start < kept[i].end && kept[i].start < row->end)
			return true;
	return false;
}

/*
 * Keeps the non-overlapping candidates (see the header); returns their
 * count.  A few are checked against the rows kept so far; more against a
 * map of the bytes taken, so the time stays linear.
 */
static int
resolve_overlaps(Candidates *c, int len, EntityRow *out)
{
	Ranked		few[FEW_SPANS];
	Ranked	   *r = c->n <= FEW_SPANS ? few : palloc(sizeof(Ranked) * c->n);
	bool	   *taken = c->n <= FEW_SPANS ? NULL : palloc0(Max(len, 1));
	int			kept = 0;
	bool		ascii = text_is_ascii(c->s, len);

	for (int i = 0; i < c->n; i++)
	{
		r[i].idx = i;
		r[i].nchars = chars_between(c->s, c->rows[i].start, c->rows[i].end, ascii);
		r[i].prio = c->prio[i];
		r[i].start = c->rows[i].start;
		r[i].score = c->rows[i].score;
		r[i].from_model = c->from_model[i];
	}
	sort_ranked(r, c->n);
	for (int i = 0; i < c->n; i++)
	{
		EntityRow  *row = &c->rows[r[i].idx];
		bool		free = true;

		if (taken == NULL)
			free = !overlaps_kept(row, out, kept);
		else
		{
			for (int b = row->start; b < row->end && free; b++)
				free = !taken[b];
			if (free)
				memset(taken + row->start, true, row->end - row->start);
		}
		if (free)
			out[kept++] = *row;
	}
	if (r != few)
		pfree(r);
	if (taken)
		pfree(taken);
	return kept;
}

/*
 * What a call site keeps in fn_extra from row to row: the last labels
 * argument with the labels it wants, the last reference time with its day,
 * and the cache of the model argument.
 */
typedef struct CallSite
{
	ArrayType  *labels;			/* NULL: none seen yet */
	bool		want[NLABELS];
	bool		have_reference;
	TimestampTz reference;
	pg_tz	   *reference_zone;
	int			reference_julian;
	void	   *model_cache;
} CallSite;

static CallSite *
call_site(FunctionCallInfo fcinfo)
{
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
														  sizeof(CallSite));
	return fcinfo->flinfo->fn_extra;
}

/*
 * The wanted labels from the labels argument (NULL: all).  A call site
 * usually passes the same array on every row, so the last one is kept with
 * its answer in fn_extra.
 */
static void
wanted_labels(FunctionCallInfo fcinfo, CallSite *cache, Candidates *c)
{
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (PG_NARGS() < 2 || PG_ARGISNULL(1))
	{
		for (int i = 0; i < (int) NLABELS; i++)
			c->want[i] = true;
		return;
	}
	arr = PG_GETARG_ARRAYTYPE_P(1);
	if (cache->labels != NULL && VARSIZE(cache->labels) == VARSIZE(arr) &&
		memcmp(cache->labels, arr, VARSIZE(arr)) == 0)
	{
		memcpy(c->want, cache->want, sizeof(c->want));
		return;
	}
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		char	   *name;
		int			l;

		if (nulls[i])
			continue;
		name = TextDatumGetCString(elems[i]);
		l = label_number(name);
		if (l < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown entity label \"%s\"", name),
					 errhint("Valid labels are EMAIL, URL, UUID, CREDIT_CARD, IP, PHONE, MONEY, PERCENT, QUANTITY, DATE, TIME, ORG, PERSON and LOCATION.")));
		c->want[l] = true;
	}
	if (cache->labels != NULL)
		pfree(cache->labels);
	cache->labels = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, VARSIZE(arr));
	memcpy(cache->labels, arr, VARSIZE(arr));
	memcpy(cache->want, c->want, sizeof(c->want));
}

/*
 * Reference day (Julian) of the reference timestamptz in the session's time
 * zone; a call site passes the same time on every row, so its day is kept.
 */
static int
reference_julian(FunctionCallInfo fcinfo, CallSite *site)
{
	TimestampTz ts = PG_NARGS() > 2 && !PG_ARGISNULL(2) ? PG_GETARG_TIMESTAMPTZ(2)
		: GetCurrentTransactionStartTimestamp();
	DateADT		d;

	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("reference time must be finite"),
				 errhint("Pass a finite timestamptz, or NULL for the transaction's start.")));
	if (site->have_reference && site->reference == ts &&
		site->reference_zone == session_timezone)
		return site->reference_julian;
	d = DatumGetDateADT(DirectFunctionCall1(timestamptz_date, TimestampTzGetDatum(ts)));
	site->have_reference = true;
	site->reference = ts;
	site->reference_zone = session_timezone;
	site->reference_julian = d + POSTGRES_EPOCH_JDATE;
	return site->reference_julian;
}

PG_FUNCTION_INFO_V1(aiml_extract_entities);

/*
 * aiml.extract_entities(string [, labels [, reference [, model]]]): rule,
 * gazetteer and model entities of string, overlaps resolved, in text order.
 * A NULL model leaves PERSON, ORG and LOCATION to the rules and gazetteer.
 */
Datum
aiml_extract_entities(PG_FUNCTION_ARGS)
{
	Candidates	c;
	text	   *t;
	const char *s;
	int			len;
	EntityRow	few_kept[FEW_SPANS];
	EntityRow  *kept;
	int			nkept;
	int			refj;
	CallSite   *site = call_site(fcinfo);

	candidates_init(&c, "");
	wanted_labels(fcinfo, site, &c);
	refj = reference_julian(fcinfo, site);
	if (PG_ARGISNULL(0))
	{
		entity_rows_emit(fcinfo, "", NULL, 0);
		return (Datum) 0;
	}
	t = PG_GETARG_TEXT_PP(0);
	s = c.s = VARDATA_ANY(t);
	len = VARSIZE_ANY_EXHDR(t);

	run_rules(&c, s, len, refj);
	if (c.want[LABEL_PERSON] || c.want[LABEL_ORG] || c.want[LABEL_LOCATION])
	{
		/* the 0.1.0 signature has no model argument and always used the default */
		if (PG_NARGS() <= 3)
			run_model_and_gazetteer(&c, ner_default_model(), s, len);
		else if (!PG_ARGISNULL(3))
			run_model_and_gazetteer(&c, ner_model_arg(fcinfo, 3, &site->model_cache,
													  "aiml.extract_entities"), s, len);
		else
			run_gazetteer(&c, s, len);
	}
	kept = c.n <= FEW_SPANS ? few_kept : palloc(sizeof(EntityRow) * c.n);
	nkept = resolve_overlaps(&c, len, kept);
	entity_rows_emit(fcinfo, s, kept, nkept);
	return (Datum) 0;
}
/* Text order: start, then end. */
static inline int
row_cmp(const EntityRow *x, const EntityRow *y)
{
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

#define ST_SORT sort_rows
#define ST_ELEMENT_TYPE EntityRow
#define ST_COMPARE(a, b) row_cmp(a, b)
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/*
 * The result rows are formed here rather than by tuplestore_putvalues: their
 * type is fixed, and the generic former's dispatch per column cost about 900
 * instructions a row, as much as finding the entities of a short log line.
 * entity_row_type_is_ours checks the descriptor each call, and
 * entity_row_put lays the columns out as heap_fill_tuple does.
 */
static const struct
{
	Oid			type;
	int16		len;
	char		align;
} entity_row_columns[] = {
	{TEXTOID, -1, TYPALIGN_INT},	/* label */
	{TEXTOID, -1, TYPALIGN_INT},	/* text */
	{TEXTOID, -1, TYPALIGN_INT},	/* normalized */
	{INT4OID, 4, TYPALIGN_INT},	/* start_pos */
	{INT4OID, 4, TYPALIGN_INT},	/* end_pos */
	{FLOAT8OID, 8, TYPALIGN_DOUBLE},	/* score */
};

#define ENTITY_ROW_NATTS lengthof(entity_row_columns)

/* True when desc is (label text, text text, normalized text, start_pos int, end_pos int, score float8). */
static bool
entity_row_type_is_ours(TupleDesc desc)
{
	if (desc->natts != (int) ENTITY_ROW_NATTS)
		return false;
	for (int i = 0; i < (int) ENTITY_ROW_NATTS; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || att->atttypid != entity_row_columns[i].type ||
			att->attlen != entity_row_columns[i].len ||
			att->attalign != entity_row_columns[i].align ||
			att->attbyval != (att->attlen > 0) ||
			(att->attlen == -1 && att->attstorage == TYPSTORAGE_PLAIN))
			return false;
	}
	return true;
}

/* Zero bytes from *off up to its alignment to align (a power of 2). */
static inline void
pad_to(char *data, Size *off, Size align)
{
	Size		to = TYPEALIGN(align, *off);

	memset(data + *off, 0, to - *off);
	*off = to;
}

/* A text column p[0..n) at data + *off: a 1-byte header when it fits one, as heap_fill_tuple converts it. */
static inline void
put_text_column(char *data, Size *off, const char *p, Size n)
{
	if (n + VARHDRSZ_SHORT <= VARATT_SHORT_MAX)
	{
		SET_VARSIZE_SHORT(data + *off, n + VARHDRSZ_SHORT);
		memcpy(data + *off + VARHDRSZ_SHORT, p, n);
		*off += VARHDRSZ_SHORT + n;
		return;
	}
	pad_to(data, off, ALIGNOF_INT);
	SET_VARSIZE(data + *off, VARHDRSZ + n);
	memcpy(data + *off + VARHDRSZ, p, n);
	*off += VARHDRSZ + n;
}

/* Bytes an entity row can take as a heap tuple with texts of these lengths, padding included. */
static inline Size
entity_row_bound(Size label_len, Size text_len, Size normalized_len)
{
	return MAXALIGN(SizeofHeapTupleHeader + BITMAPLEN(ENTITY_ROW_NATTS)) +
		3 * (VARHDRSZ + ALIGNOF_INT) + label_len + text_len + normalized_len +
		2 * sizeof(int32) + ALIGNOF_DOUBLE + sizeof(float8);
}

/*
 * Appends one row to store, formed in buf (MAXALIGNed, entity_row_bound
 * bytes): the same bytes heap_form_minimal_tuple makes of these values.
 * normalized NULL is SQL NULL.
 */
static void
entity_row_put(Tuplestorestate *store, char *buf, const char *label, Size label_len,
			   const char *text, Size text_len, const char *normalized, Size normalized_len,
			   int32 start, int32 end, float8 score)
{
	HeapTupleHeader td = (HeapTupleHeader) buf;
	bool		hasnull = normalized == NULL;
	Size		hoff = MAXALIGN(SizeofHeapTupleHeader + (hasnull ? BITMAPLEN(ENTITY_ROW_NATTS) : 0));
	char	   *data = buf + hoff;
	Size		off = 0;
	HeapTupleData tuple;

	memset(buf, 0, hoff);
	HeapTupleHeaderSetNatts(td, ENTITY_ROW_NATTS);
	td->t_hoff = hoff;
	td->t_infomask = HEAP_HASVARWIDTH;
	if (hasnull)
	{
		td->t_infomask |= HEAP_HASNULL;
		td->t_bits[0] = 0x3F & ~(1 << 2);	/* a bit per column that is not NULL */
	}
	put_text_column(data, &off, label, label_len);
	put_text_column(data, &off, text, text_len);
	if (!hasnull)
		put_text_column(data, &off, normalized, normalized_len);
	pad_to(data, &off, ALIGNOF_INT);
	memcpy(data + off, &start, sizeof(int32));
	memcpy(data + off + sizeof(int32), &end, sizeof(int32));
	off += 2 * sizeof(int32);
	pad_to(data, &off, ALIGNOF_DOUBLE);
	memcpy(data + off, &score, sizeof(float8));
	off += sizeof(float8);

	tuple.t_len = hoff + off;
	tuple.t_data = td;
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuplestore_puttuple(store, &tuple);
}

/*
 * Sorts rows by position and returns them as the SRF's result, turning byte
 * offsets into 1-based character offsets in one pass over the text.
 */
void
entity_rows_emit(FunctionCallInfo fcinfo, const char *s, EntityRow *rows, int n)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			byte_pos = 0;
	int64		char_pos = 1;
	int			last_end = 0;
	bool		ascii;
	union
	{
		char		bytes[512];
		double		align;
	}			few_buf;
	char	   *buf = few_buf.bytes;
	Size		cap = sizeof(few_buf.bytes);

	/* the executor's descriptor, when it gives one, saves building it per call */
	InitMaterializedSRF(fcinfo, rsinfo != NULL && IsA(rsinfo, ReturnSetInfo) &&
						rsinfo->expectedDesc != NULL ? MAT_SRF_USE_EXPECTED_DESC : 0);
	if (!entity_row_type_is_ours(rsinfo->setDesc))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("entities are returned as (label text, text text, normalized text, start_pos int, end_pos int, score float8)"),
				 errhint("Declare the function with those OUT parameters, as aiml's own SQL does.")));
	if (n == 0)
		return;
	if (n > 1)
		sort_rows(rows, n);
	for (int i = 0; i < n; i++)
		last_end = Max(last_end, rows[i].end);
	ascii = text_is_ascii(s, last_end);
	for (int i = 0; i < n; i++)
	{
		EntityRow  *r = &rows[i];
		const char *text = r->text ? r->text : s + r->start;
		Size		label_len = strlen(r->label);
		Size		text_len = r->text ? strlen(r->text) : (Size) (r->end - r->start);
		Size		normalized_len = r->normalized ? strlen(r->normalized) : 0;
		Size		need = entity_row_bound(label_len, text_len, normalized_len);
		int64		start;

		if (need > cap)
		{
			if (buf != few_buf.bytes)
				pfree(buf);
			buf = palloc(need);
			cap = need;
		}
		char_pos += chars_between(s, byte_pos, r->start, ascii);
		byte_pos = r->start;
		start = char_pos;
		entity_row_put(rsinfo->setResult, buf, r->label, label_len, text, text_len,
					   r->normalized, normalized_len, (int32) start,
					   (int32) (start + chars_between(s, r->start, r->end, ascii)), r->score);
	}
	if (buf != few_buf.bytes)
		pfree(buf);
}
