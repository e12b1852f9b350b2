/*
 * theta.c: the Theta method (Assimakopoulos & Nikolopoulos 2000) as the M3
 * winner ran it and R's forecast::thetaf implements it, and the naive
 * baselines users compare every model with.
 *
 * Theta: when the 90% autocorrelation test at lag m finds seasonality (and
 * the data is strictly positive), the series is divided by the seasonal
 * indices of a multiplicative classical decomposition; simple exponential
 * smoothing (alpha and initial level by least squares) is fitted to the
 * adjusted series and its flat forecast gets a drift of half the slope of
 * the series' least-squares line (Hyndman & Billah 2003: Theta is SES with
 * drift); the forecasts are then multiplied back by the seasonal indices.
 * Intervals are SES's, sigma * sqrt(1 + (h - 1) alpha^2), scaled by the
 * seasonal index of the step.
 */
#include "postgres.h"

#include <math.h>

#include "core/stats.h"
#include "forecast/forecast.h"
#include "miscadmin.h"

const char *const fc_baseline_names[] = {"naive", "snaive", "drift", NULL};

typedef struct SesWork
{
	const double *y;
	int			n;
} SesWork;

/* SES's sum of squared one-step errors for x = (alpha, l0). */
static double
ses_sse(const double *x, void *arg)
{
	SesWork    *w = (SesWork *) arg;
	double		alpha = x[0],
				l = x[1],
				sse = 0;

	if (alpha < 1e-4 || alpha > 0.9999)
		return 1e300;
	for (int t = 0; t < w->n; t++)
	{
		double		e = w->y[t] - l;

		sse += e * e;
		l += alpha * e;
	}
	return isfinite(sse) ? sse : 1e300;
}

/*
 * Simple exponential smoothing by least squares: alpha and the initial
 * level; returns the final level and the error variance.
 */
static void
ses_fit(const double *y, int n, double *alpha, double *level, double *sigma2)
{
	SesWork		w = {y, n};
	double		x[2],
				step[2],
				l0 = 0,
				sse,
				scale = 0;
	int			k = Min(n, 10);

	for (int t = 0; t < k; t++)
		l0 += y[t];
	l0 /= k;
	for (int t = 0; t < n; t++)
		scale += fabs(y[t]);
	scale /= n;
	x[0] = 0.2;
	x[1] = l0;
	step[0] = 0.1;
	step[1] = Max(fabs(l0) * 0.05, scale * 0.1 + 1e-8);
	fc_nelder_mead(ses_sse, &w, x, step, 2, 500, 1e-10, &sse);
	*alpha = x[0];
	*level = x[1];
	for (int t = 0; t < n; t++)
		*level += x[0] * (y[t] - *level);
	*sigma2 = sse / (n > 2 ? n - 2 : n);
}

/* Fits Theta (see the file header) to y. */
void
theta_fit(const double *y, int n, int m, ThetaFit *fit)
{
	double	   *x = palloc(sizeof(double) * n);
	bool		seasonal = m >= 2 && fc_all_positive(y, n) &&
		fc_seasonality_test(y, n, m, 1.645);
	double		tm = (n - 1) / 2.0,
				xm = 0,
				sxy = 0,
				sxx = 0;

	memcpy(x, y, sizeof(double) * n);
	fit->m = seasonal ? m : 1;
	fit->seas = palloc(sizeof(double) * fit->m);
	fit->seas[0] = 1;
	if (seasonal)
	{
		double	   *trend = palloc(sizeof(double) * n);
		double	   *figure = palloc(sizeof(double) * m);

		fc_classical_decompose(y, n, m, true, trend, figure);
		for (int k = 0; k < m && seasonal; k++)
			seasonal = fabs(figure[k]) >= 1e-4;
		if (seasonal)
		{
			for (int t = 0; t < n; t++)
				x[t] = y[t] / figure[t % m];
			for (int k = 0; k < m; k++)
				fit->seas[k] = figure[(n + k) % m];
		}
		else
		{
			fit->m = 1;
			fit->seas[0] = 1;
		}
		pfree(trend);
		pfree(figure);
	}

	for (int t = 0; t < n; t++)
		xm += x[t];
	xm /= n;
	for (int t = 0; t < n; t++)
	{
		sxy += (t - tm) * (x[t] - xm);
		sxx += (t - tm) * (t - tm);
	}
	fit->drift = sxx > 0 ? sxy / sxx / 2 : 0;
	ses_fit(x, n, &fit->alpha, &fit->level, &fit->sigma2);
	fit->offset = (1 - pow(1 - fit->alpha, n)) / Max(fit->alpha, 1e-10);
	pfree(x);
}

/* Theta's forecasts and intervals. */
void
theta_forecast(const ThetaFit *fit, FcPath *path)
{
	int			h = path->h;

	for (int i = 0; i < h; i++)
	{
		double		s = fit->seas[i % fit->m];
		double		sd = sqrt(fit->sigma2 * (1 + i * fit->alpha * fit->alpha)) * s;

		path->mean[i] = (fit->level + fit->drift * (i + fit->offset)) * s;
		for (int l = 0; l < path->nlevels; l++)
		{
			double		z = aiml_normal_quantile(0.5 + path->levels[l] / 200);

			path->lo[l * h + i] = path->mean[i] - z * sd;
			path->hi[l * h + i] = path->mean[i] + z * sd;
		}
	}
}

/*
 * Naive (last value), seasonal naive (the value one season back) and drift
 * (the line through the first and last values), with the intervals of
 * Hyndman & Athanasopoulos, "Forecasting: principles and practice", 5.5.
 */
void
baseline_fit(const double *y, int n, int m, int method, BaselineFit *fit)
{
	int			lag;
	double		sse = 0;
	int			cnt = 0;

	fit->method = method;
	fit->m = method == BASE_SNAIVE && m >= 2 ? m : 1;
	fit->n = n;
	fit->last = palloc(sizeof(double) * fit->m);
	memcpy(fit->last, y + n - fit->m, sizeof(double) * fit->m);
	fit->slope = method == BASE_DRIFT && n > 1 ? (y[n - 1] - y[0]) / (n - 1) : 0;
	lag = fit->m;
	for (int t = lag; t < n; t++)
	{
		double		e = y[t] - y[t - lag] - fit->slope;

		sse += e * e;
		cnt++;
	}
	if (method == BASE_DRIFT)
		cnt--;
	fit->sigma2 = cnt > 0 ? sse / cnt : 0;
}

/* The baselines' forecasts and intervals. */
void
baseline_forecast(const BaselineFit *fit, FcPath *path)
{
	int			h = path->h;

	for (int i = 0; i < h; i++)
	{
		int			step = i + 1;
		double		var;

		if (fit->method == BASE_SNAIVE)
		{
			path->mean[i] = fit->last[i % fit->m];
			var = fit->sigma2 * (i / fit->m + 1);
		}
		else
		{
			path->mean[i] = fit->last[fit->m - 1] + step * fit->slope;
			var = fit->sigma2 * step;
			if (fit->method == BASE_DRIFT && fit->n > 1)
				var *= 1 + (double) step / (fit->n - 1);
		}
		for (int l = 0; l < path->nlevels; l++)
		{
			double		z = aiml_normal_quantile(0.5 + path->levels[l] / 200);

			path->lo[l * h + i] = path->mean[i] - z * sqrt(var);
			path->hi[l * h + i] = path->mean[i] + z * sqrt(var);
		}
	}
}
