/*
 * entities.c: aiml.extract_entities: rule-based entities (e-mail, URL, IP,
 * phone, date, time, money, percent, quantity, UUID, credit card, and
 * person / organization / location cues) plus the default NER model, with
 * one overlap rule, and the row output shared with aiml.ner.
 *
 * Each rule is a PCRE2 pattern (compiled with JIT once per backend) and a
 * handler that validates a match (Luhn, octets, calendar dates) and writes
 * its normalized form.  Every rule scans the text once from left to right,
 * and so do the gazetteer and the tagger, so the cost is linear in the text.
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

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "extract/ner.h"
#include "extract/pattern.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
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

/*
 * A rule: its label, pattern and handler, and the bytes a match cannot do
 * without ('0' stands for any digit), so a text without them skips the rule
 * without running its pattern; most short texts skip most rules.
 */
typedef struct Rule
{
	const char *label;
	const char *pattern;
	RuleHandler handler;
	const char *needs;
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

/* Luhn check over 13 to 19 digits; text and normalized keep the last 4 only. */
static bool
rule_card(RuleMatch *m)
{
	char		digits[32];
	int			n = 0,
				sum = 0;
	char	   *masked;

	for (int i = m->start; i < m->end; i++)
		if (isdigit((unsigned char) m->s[i]) && n < (int) sizeof(digits) - 1)
			digits[n++] = m->s[i];
	if (n < 13 || n > 19)
		return false;
	for (int i = 0; i < n; i++)
	{
		int			d = digits[n - 1 - i] - '0';

		if (i % 2 == 1)
			d = d * 2 > 9 ? d * 2 - 9 : d * 2;
		sum += d;
	}
	if (sum % 10 != 0)
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

/* Each octet must be at most 255; leading zeros are dropped. */
static bool
rule_ipv4(RuleMatch *m)
{
	int			o[4];
	const char *p = m->s + m->start;

	for (int k = 0; k < 4; k++)
	{
		o[k] = 0;
		for (int d = 0; isdigit((unsigned char) *p); d++, p++)
			o[k] = o[k] * 10 + (*p - '0');
		if (o[k] > 255)
			return false;
		p++;
	}
	m->normalized = psprintf("%d.%d.%d.%d", o[0], o[1], o[2], o[3]);
	return true;
}

/* inet_pton decides what is an IPv6 address; inet_ntop gives its canonical form. */
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
	if (inet_ntop(AF_INET6, &addr, buf, sizeof(buf)) == NULL)
		return false;
	m->normalized = pstrdup(buf);
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
	m->normalized = psprintf("%.*s %.*s", nn, num, un, unit);
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
		m->normalized = psprintf("%04d-%02d-%02d", y, mo, d);
	else
	{
		int			h = grp_int(m, 4, 0),
					mi = grp_int(m, 5, 0),
					se = grp_int(m, 6, 0);

		if (h > 23 || mi > 59 || se > 60)
			return false;
		m->normalized = psprintf("%04d-%02d-%02dT%02d:%02d:%02d%s", y, mo, d, h, mi, se,
								 tz ? tz : "");
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
	m->normalized = psprintf("%04d-%02d-%02d", y, a, b);
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
	m->normalized = psprintf("%04d-%02d-%02d", y, mo, d);
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
		m->normalized = psprintf("%04d-%02d-%02d", y, mo, d);
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
	m->normalized = psprintf("%02d:%02d:%02d", hour_24(h, ampm), grp_int(m, 2, 0),
							 grp_int(m, 3, 0));
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

static const Rule rules[] = {
	{"EMAIL", "(?<![\\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}\\b", rule_email, "@"},
	{"URL", "\\b(?:(?:https?|ftp)://|www\\.)[^\\s<>\\\"]+", rule_url, ""},
	{"UUID", "\\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\\b", rule_uuid, "-"},
	{"CREDIT_CARD", "(?<![\\d.,-])\\d{4}(?:[ -]?\\d{4}){2}[ -]?\\d{1,7}(?![\\d])", rule_card, "0"},
	{"IP", "(?<![\\w.])(?:\\d{1,3}\\.){3}\\d{1,3}(?![\\w]|\\.\\d)", rule_ipv4, "0."},
	{"IP", "(?<![\\w:.])(?=[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:)(?:[0-9A-Fa-f]{1,4}|:)[0-9A-Fa-f:]*(?:(?<=:)\\d{1,3}(?:\\.\\d{1,3}){3})?(?![\\w:])", rule_ipv6, ":"},
	{"PHONE", "(?<![\\w+])\\+\\d{1,3}(?:[ .-]?\\(?\\d{1,4}\\)?){2,5}(?![\\w])", rule_phone_intl, "0+"},
	{"PHONE", "(?<![\\w+(])(?:\\+?1[ .-])?(?:\\(\\d{3}\\) ?|\\d{3}[ .-])\\d{3}[ .-]\\d{4}(?![\\w])", rule_phone_nanp, "0"},
	{"MONEY", "(?<![\\w])(US\\$|[$\u20ac\u00a3\u00a5\u20b9])\\s?(\\d{1,3}(?:,\\d{3})+(?:\\.\\d+)?|\\d+(?:\\.\\d+)?)(?:\\s?(k|K|m|M|bn|mn|thousand|million|billion|trillion)\\b)?", rule_money_symbol, "0"},
	{"MONEY", "\\b(USD|EUR|GBP|JPY|CHF|CAD|AUD|NZD|CNY|RMB|INR|SEK|NOK|DKK|PLN|BRL|MXN|ZAR|KRW|SGD|HKD|RUB|TRY)\\s?(\\d{1,3}(?:,\\d{3})+(?:\\.\\d+)?|\\d+(?:\\.\\d+)?)(?:\\s?(k|K|m|M|bn|mn|thousand|million|billion|trillion)\\b)?", rule_money_code_first, "0"},
	{"MONEY", "(?<![\\w.])(\\d{1,3}(?:,\\d{3})+(?:\\.\\d+)?|\\d+(?:\\.\\d+)?)(?:\\s?(k|K|m|M|bn|mn|thousand|million|billion|trillion)\\b)?\\s?(USD|EUR|GBP|JPY|CHF|CAD|AUD|NZD|CNY|RMB|INR|SEK|NOK|DKK|PLN|BRL|MXN|ZAR|KRW|SGD|HKD|RUB|TRY|dollars?|euros?|pounds sterling|yen)\\b", rule_money_code_after, "0"},
	{"PERCENT", "(?<![\\w.])([-+]?\\d+(?:\\.\\d+)?)\\s?(?:%|percent\\b|per cent\\b)", rule_percent, "0"},
	{"QUANTITY", "(?<![\\w.])(\\d+(?:\\.\\d+)?)\\s?([KMGTP]i?B|bytes?|[kMG]?bps|ms|\u00b5s|us|ns|sec(?:onds?)?|secs|s|min(?:utes?)?|mins|h|hrs?|hours?|days?|weeks?|months?|years?|km|cm|mm|m|mi|miles?|ft|feet|kg|mg|g|lbs?|pounds?|oz|t|tons?|tonnes?|l|ml|L|mL|\u00b0C|\u00b0F|C|F|[kMG]?Hz|[kM]?W|kWh|V|mA|A|mph|km/h|kph|px|cores?|vCPUs?|CPUs?|GPUs?|rpm|rps|qps)(?![\\w/])", rule_quantity, "0"},
	{"DATE", "(?<![\\w.-])(\\d{4})-(\\d{2})-(\\d{2})(?:[T ](\\d{2}):(\\d{2})(?::(\\d{2})(?:\\.\\d+)?)?(Z|[+-]\\d{2}:?\\d{2})?)?(?![\\w.]*\\d)", rule_date_iso, "0-"},
	{"DATE", "(?<![\\w./-])(\\d{1,2})/(\\d{1,2})/(\\d{4}|\\d{2})(?![\\w/]|\\.\\d)", rule_date_slash, "0/"},
	{"DATE", "(?i)\\b(\\d{1,2})(?:st|nd|rd|th)?\\s+(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\\.?,?\\s+(\\d{4})\\b", rule_date_dmy, "0"},
	{"DATE", "(?i)\\b(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\\.?\\s+(\\d{1,2})(?:st|nd|rd|th)?\\b(?:,?\\s+(\\d{4})\\b)?(?!:)", rule_date_mdy, "0"},
	{"DATE", "(?i)\\b(?:(today|tonight|yesterday|tomorrow)|(next|last|this)\\s+(week|month|year|monday|tuesday|wednesday|thursday|friday|saturday|sunday)|(\\d{1,3}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\\s+(days?|weeks?|months?|years?)\\s+(ago|from now)|in\\s+(\\d{1,3}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\\s+(days?|weeks?|months?|years?))\\b", rule_date_relative, ""},
	{"TIME", "(?<![\\w:.])([01]?\\d|2[0-3]):([0-5]\\d)(?::([0-5]\\d))?(?:\\s?([AaPp])(?:\\.[Mm]\\.|\\.?[Mm]\\b))?(?![\\w:])", rule_time_colon, "0:"},
	{"TIME", "(?i)(?<![\\w:.])(1[0-2]|0?[1-9])\\s?([ap])(?:\\.m\\.|\\.?m\\b)", rule_time_ampm, "0"},
	{"PERSON", "\\b(?:Mr|Mrs|Ms|Mx|Miss|Dr|Prof|Sir|Dame|Lord|Lady|Rev|Capt|Gen|Sen|Rep|Gov|President|Senator|Judge)\\.?\\s+((?:\\p{Lu}\\.\\s?)*\\p{Lu}[\\p{L}\\p{M}'\u2019-]{0,40}(?:\\s+(?:\\p{Lu}\\.|\\p{Lu}[\\p{L}\\p{M}'\u2019-]{0,40})){0,3})", rule_person_title, ""},
	{"ORG", "\\b((?:\\p{Lu}[\\p{L}\\p{M}'\u2019-]{0,40}|&)(?:[ ](?:\\p{Lu}[\\p{L}\\p{M}'\u2019-]{0,40}|&|\\d+)){0,4}),?\\s+(Inc|Ltd|LLC|LLP|GmbH|AG|Corp|Corporation|Co|Company|PLC|plc|S\\.A|SA|N\\.V|NV|B\\.V|BV|Limited|Group|Holdings|Foundation|Association|Partners)\\b\\.?", rule_org_suffix, ""},
	{"ORG", "\\b(?:University|Institute|College|Bank|Ministry|Department|Academy|School)\\s+of\\s+(?:the\\s+)?\\p{Lu}[\\p{L}\\p{M}'\u2019-]{0,40}(?:\\s+\\p{Lu}[\\p{L}\\p{M}'\u2019-]{0,40}){0,3}", rule_org_of, "f"},
	{"ORG", "\\b\\p{Lu}[\\p{L}\\p{M}'\u2019-]{0,40}(?:\\s+\\p{Lu}[\\p{L}\\p{M}'\u2019-]{0,40}){0,2}\\s+(?:University|College|Institute|Hospital|Bank)\\b", rule_org_named, ""},
	{"LOCATION", "\\b(\\p{Lu}[\\p{L}\\p{M}'\u2019-]{0,40}(?:\\s+\\p{Lu}[\\p{L}\\p{M}'\u2019-]{0,40}){0,2}),\\s+(AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC)\\b(?!\\w)", rule_city_state, ","},
};

/* ---- compiled rules, once per backend ---- */

static AimlPattern **compiled = NULL;

/* The rules compiled with JIT once per backend, in a long-lived context. */
static AimlPattern **
compiled_rules(void)
{
	MemoryContext cxt;
	AimlPattern **pats;

	if (compiled != NULL)
		return compiled;
	cxt = AllocSetContextCreate(TopMemoryContext, "aiml entity rules", ALLOCSET_SMALL_SIZES);
	PG_TRY();
	{
		pats = MemoryContextAlloc(cxt, sizeof(AimlPattern *) * lengthof(rules));
		for (int i = 0; i < (int) lengthof(rules); i++)
			pats[i] = aiml_pattern_compile(rules[i].pattern, strlen(rules[i].pattern),
										   aiml_pattern_encoding_options() | PCRE2_UCP,
										   cxt, "entity rule");
	}
	PG_CATCH();
	{
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	compiled = pats;
	return pats;
}

/* ---- candidates ---- */

typedef struct Candidates
{
	EntityRow  *rows;
	int		   *prio;
	bool	   *from_model;
	int			n;
	int			cap;
	const char *s;
	bool		want[NLABELS];
} Candidates;

/* Adds a candidate span; overlaps are resolved later, all at once. */
static void
add_candidate(Candidates *c, int label, int start, int end, char *text,
			  char *normalized, double score)
{
	if (c->n == c->cap)
	{
		c->cap = c->cap ? c->cap * 2 : 64;
		c->rows = c->rows ? repalloc_huge(c->rows, sizeof(EntityRow) * c->cap)
			: palloc(sizeof(EntityRow) * c->cap);
		c->prio = c->prio ? repalloc_huge(c->prio, sizeof(int) * c->cap)
			: palloc(sizeof(int) * c->cap);
		c->from_model = c->from_model ? repalloc_huge(c->from_model, sizeof(bool) * c->cap)
			: palloc(sizeof(bool) * c->cap);
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

/* True when every byte of needs occurs in the text ('0': some digit). */
static bool
has_needed_bytes(const bool *present, const char *needs)
{
	for (const char *n = needs; *n; n++)
	{
		if (*n == '0')
		{
			bool		digit = false;

			for (int d = '0'; d <= '9' && !digit; d++)
				digit = present[d];
			if (!digit)
				return false;
		}
		else if (!present[(unsigned char) *n])
			return false;
	}
	return true;
}

/* Every match of every wanted rule over s[0..len). */
static void
run_rules(Candidates *c, const char *s, int len, int refj)
{
	AimlPattern **pats = compiled_rules();
	bool		present[256];

	memset(present, 0, sizeof(present));
	for (int i = 0; i < len; i++)
		present[(unsigned char) s[i]] = true;

	for (int i = 0; i < (int) lengthof(rules); i++)
	{
		int			label = label_number(rules[i].label);
		Size		pos = 0;

		if (!c->want[label] || !has_needed_bytes(present, rules[i].needs))
			continue;
		while (pos < (Size) len &&
			   aiml_pattern_match(pats[i], s, len, pos, 0, "aiml.extract_entities"))
		{
			RuleMatch	m;

			m.s = s;
			m.ov = pcre2_get_ovector_pointer(pats[i]->match_data);
			m.ngroups = pcre2_get_ovector_count(pats[i]->match_data);
			m.start = (int) m.ov[0];
			m.end = (int) m.ov[1];
			m.text = m.normalized = NULL;
			m.score = 1.0;
			m.refj = refj;
			pos = m.ov[1] > m.ov[0] ? m.ov[1] : m.ov[0] + 1;
			if (m.end > m.start && rules[i].handler(&m))
				add_candidate(c, label, m.start, m.end, m.text, m.normalized, m.score);
			CHECK_FOR_INTERRUPTS();
		}
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

/* Capitalised gazetteer phrases: countries, regions, cities; organizations. */
static void
run_gazetteer(Candidates *c, const char *s, int len)
{
	NerTokenizer tz;
	NerToken   *toks = palloc(sizeof(NerToken) * NER_MAX_SENTENCE);
	NerGazHit  *hits = palloc(sizeof(NerGazHit) * NER_MAX_SENTENCE);
	bool		utf8 = GetDatabaseEncoding() == PG_UTF8;
	int			n;

	ner_tokenizer_init(&tz, s, len);
	while ((n = ner_next_sentence(&tz, toks, NER_MAX_SENTENCE)) > 0)
	{
		ner_gazetteer_lookup(s, toks, n, hits);
		for (int i = 0; i < n; i++)
		{
			int			k = hits[i].length;
			int			label;

			if (k == 0 || !all_capitalised(s, toks + i, k, utf8))
				continue;
			if (hits[i].begin & NER_GAZ_LOCATION)
				label = label_number("LOCATION");
			else if (hits[i].begin & NER_GAZ_ORG)
				label = label_number("ORG");
			else
				continue;
			if (c->want[label])
				add_candidate(c, label, toks[i].start, toks[i + k - 1].end, NULL,
							  pnstrdup(s + toks[i].start, toks[i + k - 1].end - toks[i].start),
							  0.8);
		}
		CHECK_FOR_INTERRUPTS();
	}
	pfree(toks);
	pfree(hits);
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
	const NerModel *m;
	int			map[8];
} ModelSink;

/* Sink of the default model in extract_entities. */
static void
model_span(const NerSpan *span, void *arg)
{
	ModelSink  *ms = arg;
	int			label = span->label < 8 ? ms->map[span->label] : -1;
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

/* The default model's PERSON, ORG and LOCATION spans. */
static void
run_model(Candidates *c, const char *s, int len)
{
	const NerModel *m = ner_default_model();
	ModelSink	ms;

	ms.c = c;
	ms.m = m;
	for (int i = 0; i < 8; i++)
		ms.map[i] = i < ner_model_nlabels(m) ? label_number(ner_model_label(m, i)) : -1;
	ner_tag_text(m, s, len, model_span, &ms);
}

/* ---- the overlap rule ---- */

typedef struct Ranked
{
	int			idx;
	int			nchars;
	int			prio;
	int			start;
	bool		from_model;
	double		score;
} Ranked;

/* The overlap rule's order (see the top of the file). */
static int
ranked_cmp(const void *a, const void *b)
{
	const Ranked *x = a,
			   *y = b;

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
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Keeps the non-overlapping candidates (see the header); returns their count. */
static int
resolve_overlaps(Candidates *c, int len, EntityRow *out)
{
	Ranked	   *r = palloc(sizeof(Ranked) * Max(c->n, 1));
	bool	   *taken = palloc0(Max(len, 1));
	int			kept = 0;

	for (int i = 0; i < c->n; i++)
	{
		r[i].idx = i;
		r[i].nchars = pg_mbstrlen_with_len(c->s + c->rows[i].start,
										   c->rows[i].end - c->rows[i].start);
		r[i].prio = c->prio[i];
		r[i].start = c->rows[i].start;
		r[i].score = c->rows[i].score;
		r[i].from_model = c->from_model[i];
	}
	qsort(r, c->n, sizeof(Ranked), ranked_cmp);
	for (int i = 0; i < c->n; i++)
	{
		EntityRow  *row = &c->rows[r[i].idx];
		bool		free = true;

		for (int b = row->start; b < row->end && free; b++)
			free = !taken[b];
		if (!free)
			continue;
		memset(taken + row->start, true, row->end - row->start);
		out[kept++] = *row;
	}
	pfree(r);
	pfree(taken);
	return kept;
}

/* The wanted labels from the labels argument (NULL: all). */
static void
wanted_labels(FunctionCallInfo fcinfo, Candidates *c)
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
}

/* Reference day (Julian) of the reference timestamptz in the session's time zone. */
static int
reference_julian(FunctionCallInfo fcinfo)
{
	TimestampTz ts = PG_NARGS() > 2 && !PG_ARGISNULL(2) ? PG_GETARG_TIMESTAMPTZ(2)
		: GetCurrentTransactionStartTimestamp();
	DateADT		d;

	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("reference time must be finite")));
	d = DatumGetDateADT(DirectFunctionCall1(timestamptz_date, TimestampTzGetDatum(ts)));
	return d + POSTGRES_EPOCH_JDATE;
}

PG_FUNCTION_INFO_V1(aiml_extract_entities);

/*
 * aiml.extract_entities(string [, labels [, reference]]): rule and model
 * entities of string, overlaps resolved, in text order.
 */
Datum
aiml_extract_entities(PG_FUNCTION_ARGS)
{
	Candidates	c;
	text	   *t;
	const char *s;
	int			len;
	EntityRow  *kept;
	int			nkept;
	int			refj;

	memset(&c, 0, sizeof(c));
	wanted_labels(fcinfo, &c);
	refj = reference_julian(fcinfo);
	if (PG_ARGISNULL(0))
	{
		entity_rows_emit(fcinfo, "", NULL, 0);
		return (Datum) 0;
	}
	t = PG_GETARG_TEXT_PP(0);
	s = c.s = VARDATA_ANY(t);
	len = VARSIZE_ANY_EXHDR(t);

	run_rules(&c, s, len, refj);
	if (c.want[label_number("PERSON")] || c.want[label_number("ORG")] ||
		c.want[label_number("LOCATION")])
	{
		run_gazetteer(&c, s, len);
		run_model(&c, s, len);
	}
	kept = palloc(sizeof(EntityRow) * Max(c.n, 1));
	nkept = resolve_overlaps(&c, len, kept);
	entity_rows_emit(fcinfo, s, kept, nkept);
	return (Datum) 0;
}
/* Text order: start, then end. */
static int
row_cmp(const void *a, const void *b)
{
	const EntityRow *x = a,
			   *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
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

	InitMaterializedSRF(fcinfo, 0);
	if (n > 1)
		qsort(rows, n, sizeof(EntityRow), row_cmp);
	for (int i = 0; i < n; i++)
	{
		EntityRow  *r = &rows[i];
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};
		int64		start;

		char_pos += pg_mbstrlen_with_len(s + byte_pos, r->start - byte_pos);
		byte_pos = r->start;
		start = char_pos;
		values[0] = CStringGetTextDatum(r->label);
		values[1] = r->text ? CStringGetTextDatum(r->text)
			: PointerGetDatum(cstring_to_text_with_len(s + r->start, r->end - r->start));
		values[2] = r->normalized ? CStringGetTextDatum(r->normalized) : (Datum) 0;
		nulls[2] = r->normalized == NULL;
		values[3] = Int32GetDatum((int32) start);
		values[4] = Int32GetDatum((int32) (start + pg_mbstrlen_with_len(s + r->start, r->end - r->start)));
		values[5] = Float8GetDatum(r->score);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}
