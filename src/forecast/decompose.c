/*
 * decompose.c: what the models and the insight functions need to know about
 * a series' shape: autocorrelation, the seasonality test of Theta and Naive2
 * (M4), season length detection, and classical decomposition (moving
 * average trend, mean seasonal figure), as R's decompose() does it.
 */
#include "postgres.h"

#include <math.h>

#include "forecast/forecast.h"
#include "miscadmin.h"

/* Longest lag the season detector looks at without a hint. */
#define DETECT_MAX_LAG 1000

/* Sample autocorrelation r[1..maxlag] (r[0] = 1), as R's acf(). */
void
fc_acf(const double *y, int n, int maxlag, double *r)
{
	double		mean = 0,
				denom = 0;

	for (int t = 0; t < n; t++)
		mean += y[t];
	mean /= n;
	for (int t = 0; t < n; t++)
		denom += (y[t] - mean) * (y[t] - mean);
	r[0] = 1;
	for (int k = 1; k <= maxlag; k++)
	{
		double		s = 0;

		if ((k & 255) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int t = 0; t + k < n; t++)
			s += (y[t] - mean) * (y[t + k] - mean);
		r[k] = denom > 0 ? s / denom : 0;
	}
}

/*
 * Is the autocorrelation at lag m significant at the one-sided level of z
 * (1.645: 90%, the test of R's thetaf and of M4's Naive2)?  Bartlett's
 * standard error uses the autocorrelations below lag m.
 */
bool
fc_seasonality_test(const double *y, int n, int m, double z)
{
	double	   *r;
	double		s = 0;
	bool		constant = true;
	bool		result;

	if (m < 2 || n <= 2 * m)
		return false;
	for (int t = 1; t < n && constant; t++)
		constant = y[t] == y[0];
	if (constant)
		return false;
	r = palloc(sizeof(double) * (m + 1));
	fc_acf(y, n, m, r);
	for (int k = 1; k < m; k++)
		s += r[k] * r[k];
	result = fabs(r[m]) / sqrt((1 + 2 * s) / n) > z;
	pfree(r);
	return result;
}

/* y minus its least-squares line, so a trend does not mask a season. */
static double *
detrended(const double *y, int n)
{
	double	   *d = palloc(sizeof(double) * n);
	double		tm = (n - 1) / 2.0,
				ym = 0,
				sxy = 0,
				sxx = 0,
				slope;

	for (int t = 0; t < n; t++)
		ym += y[t];
	ym /= n;
	for (int t = 0; t < n; t++)
	{
		sxy += (t - tm) * (y[t] - ym);
		sxx += (t - tm) * (t - tm);
	}
	slope = sxx > 0 ? sxy / sxx : 0;
	for (int t = 0; t < n; t++)
		d[t] = y[t] - ym - slope * (t - tm);
	return d;
}

/*
 * Season length of y: hint (from the timestamps' interval) when the
 * seasonality test confirms it, else the lag whose autocorrelation of the
 * detrended series is the highest significant local peak, else 1 (none).
 */
int
fc_detect_season(const double *y, int n, int hint)
{
	double	   *d,
			   *r;
	int			maxlag = Min(n / 2 - 1, DETECT_MAX_LAG);
	int			best = 1;
	double		sumsq = 0;

	d = detrended(y, n);
	if (hint >= 2 && fc_seasonality_test(d, n, hint, 1.645))
	{
		pfree(d);
		return hint;
	}
	if (maxlag < 3)
	{
		pfree(d);
		return 1;
	}
	r = palloc(sizeof(double) * (maxlag + 2));
	fc_acf(d, n, maxlag + 1, r);
	for (int k = 1; k <= maxlag; k++)
	{
		double		se = sqrt((1 + 2 * sumsq) / n);

		if (k >= 2 && r[k] > r[k - 1] && r[k] >= r[k + 1] && r[k] > 1.645 * se &&
			r[k] > 0.2 && (best == 1 || r[k] > r[best] + 0.05))
			best = k;
		sumsq += r[k] * r[k];
	}
	pfree(r);
	pfree(d);
	return best;
}

/*
 * Centred moving average of order m (2 x m when m is even); NaN where the
 * window does not fit.  Running sums keep it O(n).
 */
void
fc_moving_average(const double *y, int n, int m, double *trend)
{
	int			half = m / 2;
	double		s = 0;

	for (int t = 0; t < n; t++)
		trend[t] = NAN;
	if (n < m + (m % 2 == 0 ? 1 : 0))
		return;
	if (m % 2 == 1)
	{
		for (int t = 0; t < m; t++)
			s += y[t];
		for (int c = half; c + half < n; c++)
		{
			trend[c] = s / m;
			if (c + half + 1 < n)
				s += y[c + half + 1] - y[c - half];
		}
	}
	else
	{
		/* window c-half .. c+half with the two ends weighted 1/2 */
		for (int t = 0; t <= m; t++)
			s += y[t];
		for (int c = half; c + half < n; c++)
		{
			trend[c] = (s - 0.5 * (y[c - half] + y[c + half])) / m;
			if (c + half + 1 < n)
				s += y[c + half + 1] - y[c - half];
		}
	}
}

/*
 * Classical decomposition: trend[n] by moving average (NaN at the ends),
 * figure[m] the seasonal index of each position t mod m, centred to mean 0
 * (additive) or 1 (multiplicative).
 */
void
fc_classical_decompose(const double *y, int n, int m, bool multiplicative,
					   double *trend, double *figure)
{
	int		   *count = palloc0(sizeof(int) * m);
	double		mean = 0;

	fc_moving_average(y, n, m, trend);
	for (int k = 0; k < m; k++)
		figure[k] = 0;
	for (int t = 0; t < n; t++)
	{
		if (isnan(trend[t]) || (multiplicative && trend[t] == 0))
			continue;
		figure[t % m] += multiplicative ? y[t] / trend[t] : y[t] - trend[t];
		count[t % m]++;
	}
	for (int k = 0; k < m; k++)
	{
		figure[k] = count[k] > 0 ? figure[k] / count[k] : (multiplicative ? 1 : 0);
		mean += figure[k];
	}
	mean /= m;
	for (int k = 0; k < m; k++)
	{
		if (multiplicative)
			figure[k] = mean != 0 ? figure[k] / mean : 1;
		else
			figure[k] -= mean;
	}
	pfree(count);
}

/* Mean absolute error of the in-sample seasonal naive forecast: MASE's scale. */
double
fc_snaive_mae(const double *y, int n, int m)
{
	double		s = 0;

	if (m < 1)
		m = 1;
	if (n <= m)
		return NAN;
	for (int t = m; t < n; t++)
		s += fabs(y[t] - y[t - m]);
	return s / (n - m);
}

/* Whether every value is > 0: multiplicative models need it. */
bool
fc_all_positive(const double *y, int n)
{
	for (int t = 0; t < n; t++)
		if (!(y[t] > 0))
			return false;
	return true;
}
