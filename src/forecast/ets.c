/*
 * ets.c: exponential smoothing state-space models (Hyndman, Koehler, Snyder
 * & Grose 2002; Hyndman et al. 2008, "Forecasting with exponential
 * smoothing"), fitted and selected as R's forecast::ets does:
 *
 *   - error A or M, trend N, A or Ad (damped), season N, A or M; additive
 *     error with a multiplicative season is excluded (numerically unstable),
 *     multiplicative error or season needs strictly positive data;
 *   - initial states from R's heuristic, except that the seasonal indices
 *     come from a classical decomposition of the whole series, then a line
 *     through the first max(10, 2m) seasonally adjusted values gives level
 *     and slope; all of them are then fitted with the smoothing parameters
 *     (for m <= ETS_MAX_FIT_SEASON; the first m - 1 seasonal states, the
 *     last one normalizing them), as R does, see ets_fit_one;
 *   - maximum likelihood (R's criterion: n log(SSE), plus 2 sum log|yhat| for
 *     multiplicative error) under R's default bounds "both": the usual ones,
 *     1e-4 <= alpha <= 0.9999, 1e-4 <= beta <= alpha, 1e-4 <= gamma <=
 *     1 - alpha, 0.8 <= phi <= 0.98, and the admissible (forecastable)
 *     region, see ets_admissible;
 *   - selection by AICc, counting parameters as R does (smoothing parameters,
 *     initial states with m - 1 seasonal ones, and sigma), among trends N
 *     and Ad unless the options ask for A (see ets_spec_allows).
 *
 * The state update is written in terms of y, as in R's etscalc, so it is the
 * same for additive and multiplicative error; the error type only changes
 * the likelihood and the prediction intervals.  Seasonal states live in a
 * ring indexed by t mod m, so a step costs O(1) whatever the season length.
 */
#include "postgres.h"

#include <math.h>

#include "core/rng.h"
#include "core/stats.h"
#include "forecast/forecast.h"
#include "miscadmin.h"

#define ETS_HUGE 1e20
#define ETS_TOL 1e-10
#define ETS_MAX_EVALS 1000
#define ETS_MAX_EVALS_FULL 2000	/* with the seasonal states: R's maxit */
#define ETS_RELTOL 1e-8
#define ETS_MAX_FIT_SEASON 52	/* longer seasons keep the heuristic states */

typedef struct EtsParams
{
	double		alpha,
				beta,
				gamma,
				phi;
} EtsParams;

/* One model being fitted: data, structure, initial states. */
typedef struct EtsWork
{
	const double *y;
	int			n;
	int			m;
	int			error,
				trend,
				season;
	double	   *seas0;			/* initial seasonal states, ring order */
	double	   *seas;			/* working copy */
	double		l0,
				b0;
	bool		fit_seas;		/* seas0[0..m-2] are in the parameter vector */
	double	   *poly;			/* m + 2 doubles for ets_admissible */
	double		floor_sse;		/* keeps log(SSE) finite on exact fits */
} EtsWork;

/*
 * One step of the recursion: the forecast of y from the states, then the
 * states updated with y.  Returns the forecast; *ok is false when a
 * multiplicative component would divide by (almost) zero.
 */
static inline double
ets_step(const EtsParams *p, int trend, int season, double *l, double *b,
		 double *s, double y, bool *ok)
{
	double		phib = trend == ETS_N ? 0 : p->phi * *b;
	double		q = *l + phib;
	double		so = season == ETS_N ? 0 : *s;
	double		yhat,
				adj,
				newl;

	if (season == ETS_M)
	{
		yhat = q * so;
		if (so < ETS_TOL || fabs(q) < ETS_TOL)
		{
			*ok = false;
			return yhat;
		}
		adj = y / so;
	}
	else
	{
		yhat = q + so;
		adj = y - so;
	}
	newl = q + p->alpha * (adj - q);
	if (trend != ETS_N)
		*b = phib + p->beta * (adj - q);
	if (season == ETS_A)
		*s = so + p->gamma * (y - q - so);
	else if (season == ETS_M)
	{
		*s = so + p->gamma * (y / q - so);
		/* a multiplicative seasonal state must stay positive */
		if (*s < ETS_TOL)
			*ok = false;
	}
	*l = newl;
	return yhat;
}

/*
 * Runs the model over the data with the given parameters and initial level
 * and slope.  Returns R's likelihood criterion (ETS_HUGE when the recursion
 * fails); leaves the final states in *l, *b and w->seas, the SSE of the
 * (relative) errors in *sse.
 */
static double
ets_run(EtsWork *w, const EtsParams *p, double *l, double *b, double *sse)
{
	double		sum = 0,
				sumlog = 0,
				prod = 1;
	bool		ok = true;
	int			m = w->m;
	int			k = 0;

	*l = w->l0;
	*b = w->b0;
	if (w->season != ETS_N)
		memcpy(w->seas, w->seas0, sizeof(double) * m);
	for (int t = 0; t < w->n; t++)
	{
		double		y = w->y[t];
		double		yhat = ets_step(p, w->trend, w->season, l, b, &w->seas[k], y, &ok);
		double		e;

		if (!ok)
			return ETS_HUGE;
		if (w->error == ETS_M)
		{
			double		ay = fabs(yhat);

			/* as R: only a forecast of (almost) zero is refused */
			if (ay < ETS_TOL)
				return ETS_HUGE;
			e = (y - yhat) / yhat;
			/* sum of logs as the log of a product: log() was 40% of the fit */
			if (ay > 1e100)
				sumlog += log(ay);
			else
			{
				prod *= ay;
				if (prod > 1e150 || prod < 1e-150)
				{
					sumlog += log(prod);
					prod = 1;
				}
			}
		}
		else
			e = y - yhat;
		sum += e * e;
		if (++k == m)
			k = 0;
	}
	sumlog += log(prod);
	if (!isfinite(sum))
		return ETS_HUGE;
	*sse = sum;
	return w->n * log(Max(sum, w->floor_sse)) + 2 * sumlog;
}

/*
 * Whether all roots of the polynomial a[0] + a[1] z + ... + a[n] z^n lie
 * inside the circle of radius r, by the Schur-Cohn test: with |a0| < |an|,
 * p has all its roots inside the unit circle exactly when
 * (an p(z) - a0 p*(z)) / z, of degree n - 1, has.  O(n^2), in place.
 */
static bool
ets_roots_inside(double *a, int n, double r)
{
	double		rk = 1;

	for (int k = 0; k <= n; k++)
	{
		a[k] *= rk;				/* p(r z): roots divided by r */
		rk *= r;
	}
	for (; n > 0; n--)
	{
		double		a0 = a[0],
					an = a[n];

		if (!(fabs(a0) < fabs(an)))
			return false;
		for (int k = 0; k < n; k++)
			a[k] = an * a[k + 1] - a0 * a[n - 1 - k];
		/* keep the numbers of order 1 */
		an = fabs(a[n - 1]);
		if (!(an > 0) || !isfinite(an))
			return false;
		an = 1 / an;
		for (int k = 0; k < n; k++)
			a[k] *= an;
	}
	return true;
}

/*
 * R's "admissible" region (forecast:::admissible, Hyndman et al. 2008,
 * chapter 10): the parameters for which the model is forecastable, i.e. the
 * discount matrix has all its eigenvalues inside the unit circle.  Beyond
 * the usual bounds this excludes, for seasonal models, corners such as
 * alpha = beta = 0.9999 with a small gamma, whose one-step fit is good but
 * whose forecasts are not.  The root test is O(m^2), so it is made for
 * m <= ETS_MAX_FIT_SEASON only; longer seasons get the linear conditions.
 */
static bool
ets_admissible(const EtsWork *w, const EtsParams *p)
{
	double		alpha = p->alpha,
				beta = w->trend != ETS_N ? p->beta : 0,
				gamma = p->gamma,
				phi = w->trend == ETS_AD ? p->phi : 1;
	int			m = w->m;
	double	   *a = w->poly;

	if (w->season == ETS_N)
	{
		if (alpha < 1 - 1 / phi || alpha > 1 + 1 / phi)
			return false;
		return w->trend == ETS_N || (beta >= alpha * (phi - 1) && beta <= (1 + phi) * (2 - alpha));
	}
	if (gamma < Max(1 - 1 / phi - alpha, 0) || gamma > 1 + 1 / phi - alpha)
		return false;
	if (alpha < 1 - 1 / phi - gamma * (1 - m + phi + phi * m) / (2 * phi * m))
		return false;
	if (beta < -(1 - phi) * (gamma / m + alpha))
		return false;
	if (m - 1 > ETS_MAX_FIT_SEASON)
		return true;
	a[0] = phi * (1 - alpha - gamma);
	a[1] = alpha + beta - alpha * phi + gamma - 1;
	for (int k = 2; k < m; k++)
		a[k] = alpha + beta - alpha * phi;
	a[m] = alpha + beta - phi;
	a[m + 1] = 1;
	return ets_roots_inside(a, m + 1, 1 + 1e-10);
}

/*
 * Parameter vector layout: alpha [beta] [gamma] [phi] l0 [b0], then, when
 * the seasonal states are fitted, the first m - 1 of them; the last one is
 * what makes them sum to 0 (additive) or m (multiplicative), so the level
 * stays identified, as in R's etsTargetFunction.  Returns false outside the
 * usual bounds or the admissible region, or with a multiplicative seasonal
 * state <= 0.
 */
static bool
ets_unpack(EtsWork *w, const double *x, EtsParams *p)
{
	int			i = 0;

	p->alpha = x[i++];
	p->beta = w->trend != ETS_N ? x[i++] : 0;
	p->gamma = w->season != ETS_N ? x[i++] : 0;
	p->phi = w->trend == ETS_AD ? x[i++] : 1;
	w->l0 = x[i++];
	w->b0 = w->trend != ETS_N ? x[i++] : 0;

	if (p->alpha < 1e-4 || p->alpha > 0.9999)
		return false;
	if (w->trend != ETS_N && (p->beta < 1e-4 || p->beta > p->alpha))
		return false;
	if (w->season != ETS_N && (p->gamma < 1e-4 || p->gamma > 1 - p->alpha))
		return false;
	if (w->trend == ETS_AD && (p->phi < 0.8 || p->phi > 0.98))
		return false;
	if (!ets_admissible(w, p))
		return false;
	if (w->fit_seas)
	{
		double		last = w->season == ETS_M ? w->m : 0;

		for (int k = 0; k < w->m - 1; k++)
		{
			w->seas0[k] = x[i++];
			last -= w->seas0[k];
		}
		w->seas0[w->m - 1] = last;
		if (w->season == ETS_M)
			for (int k = 0; k < w->m; k++)
				if (w->seas0[k] <= 0)
					return false;
	}
	return true;
}

/* Nelder-Mead's objective: the likelihood criterion of a parameter vector. */
static double
ets_objective(const double *x, void *arg)
{
	EtsWork    *w = (EtsWork *) arg;
	EtsParams	p;
	double		l,
				b,
				sse;

	if (!ets_unpack(w, x, &p))
		return ETS_HUGE;
	return ets_run(w, &p, &l, &b, &sse);
}

/*
 * Initial seasonal states: the seasonal figure of a classical decomposition
 * of the series, in ring order (position t mod m); multiplicative ones are
 * kept above 0.01 and normalized to mean 1, as R does.
 */
static void
ets_initial_seasons(const double *y, int n, int m, int season, double *seas)
{
	int			len = n;
	double	   *trend = palloc(sizeof(double) * len);

	fc_classical_decompose(y, len, m, season == ETS_M, trend, seas);
	if (season == ETS_M)
	{
		double		sum = 0;

		for (int k = 0; k < m; k++)
		{
			seas[k] = Max(seas[k], 1e-2);
			sum += seas[k];
		}
		for (int k = 0; k < m; k++)
			seas[k] *= m / sum;
	}
	pfree(trend);
}

/*
 * Level and slope before the first observation, from a line through the
 * first max(10, 2m) seasonally adjusted values (R's heuristic).
 */
static void
ets_initial_level(const double *y, int n, int m, int trend, int season,
				  const double *seas, double *l0, double *b0)
{
	int			maxn = Min(Max(10, 2 * m), n);
	double		sx = 0,
				sy = 0,
				sxx = 0,
				sxy = 0;

	for (int t = 0; t < maxn; t++)
	{
		double		v = y[t];
		double		x = t + 1;

		if (season == ETS_A)
			v -= seas[t % m];
		else if (season == ETS_M)
			v /= seas[t % m];
		sx += x;
		sy += v;
		sxx += x * x;
		sxy += x * v;
	}
	if (trend == ETS_N || maxn < 2)
	{
		*l0 = sy / maxn;
		*b0 = 0;
		return;
	}
	*b0 = (maxn * sxy - sx * sy) / (maxn * sxx - sx * sx);
	*l0 = (sy - *b0 * sx) / maxn;
	if (fabs(*l0 + *b0) < 1e-8)
	{
		*l0 *= 1 + 1e-3;
		*b0 *= 1 - 1e-3;
	}
}

/* Parameters R counts for AICc: smoothing, initial states, sigma. */
static int
ets_count_params(int trend, int season, int m)
{
	int			k = 1 + 1 + 1;	/* alpha, l0, sigma */

	if (trend != ETS_N)
		k += 2;					/* beta, b0 */
	if (trend == ETS_AD)
		k += 1;
	if (season != ETS_N)
		k += 1 + (m - 1);
	return k;
}

/* A simplex step of size from x that stays inside [lo, hi] when it can. */
static double
ets_inside(double x, double lo, double hi, double size)
{
	return x + size <= hi ? size : (x - size >= lo ? -size : (hi - lo) / 2 - (x - lo));
}

/*
 * Steps of a restarted simplex around the point x of a first search: a
 * tenth of each smoothing parameter's range (towards the inside), a share of
 * the level, slope and seasonal amplitude.
 */
static void
ets_restart_steps(const EtsWork *w, const double *x, int dim, double scale, double *step)
{
	int			i = 0;
	double		alpha = x[0];

	step[i] = ets_inside(x[i], 1e-4, 0.9999, 0.1);
	i++;
	if (w->trend != ETS_N)
	{
		step[i] = ets_inside(x[i], 1e-4, alpha, 0.1 * alpha);
		i++;
	}
	if (w->season != ETS_N)
	{
		step[i] = ets_inside(x[i], 1e-4, 1 - alpha, 0.1 * (1 - alpha));
		i++;
	}
	if (w->trend == ETS_AD)
	{
		step[i] = ets_inside(x[i], 0.8, 0.98, 0.02);
		i++;
	}
	step[i] = Max(fabs(x[i]) * 0.02, scale * 0.05 + 1e-8);
	i++;
	if (w->trend != ETS_N)
	{
		step[i] = Max(fabs(x[i]) * 0.1, scale * 0.005 + 1e-8);
		i++;
	}
	if (i < dim)
	{
		double		center = w->season == ETS_M ? 1 : 0,
					amp = 0;

		for (int k = i; k < dim; k++)
			amp += fabs(x[k] - center);
		amp = amp / (dim - i) + (w->season == ETS_M ? 1e-3 : 1e-3 * scale);
		for (int k = i; k < dim; k++)
			step[k] = 0.1 * amp;
	}
}

/*
 * Fits one model structure; returns false when it cannot be fitted.
 *
 * Nelder-Mead searches, each from the best point of the ones before: the
 * smoothing parameters with the initial level and slope, the seasonal
 * states held at the heuristic (few dimensions, so it converges fast and
 * gives the others a good start), from two starting points; the same again
 * from a fresh simplex around the better one (a simplex collapsed against a
 * bound, e.g. alpha = beta = 0.9999, often stops short); then, for a
 * seasonal model with m <= ETS_MAX_FIT_SEASON, everything together with the
 * first m - 1 initial seasonal states, as R does.  Each search keeps its
 * starting point in the simplex, so the likelihood never gets worse than
 * the heuristic start's.
 */
static bool
ets_fit_one(const double *y, int n, int m, int error, int trend, int season,
			const double *seas0, double scale, EtsFit *fit)
{
	EtsWork		w;
	double	   *x,
			   *step;
	int			dim = 0;
	double		lik,
				sse = 0,
				l,
				b,
				l0,
				b0;
	EtsParams	p;
	int			np = ets_count_params(trend, season, m);
	double		lower_alpha = 1e-4,
				upper = 0.9999;

	if (n <= np + 1)
		return false;
	memset(&w, 0, sizeof(w));
	w.y = y;
	w.n = n;
	w.m = season == ETS_N ? 1 : m;
	w.error = error;
	w.trend = trend;
	w.season = season;
	w.seas0 = palloc0(sizeof(double) * w.m);
	if (season != ETS_N)
		memcpy(w.seas0, seas0, sizeof(double) * w.m);
	w.seas = palloc0(sizeof(double) * w.m);
	w.poly = palloc(sizeof(double) * (w.m + 2));
	w.floor_sse = n * (error == ETS_M ? 1e-16 : 1e-16 * scale * scale) + 1e-300;
	ets_initial_level(y, n, w.m, trend, season, w.seas0, &l0, &b0);
	x = palloc(sizeof(double) * 2 * (6 + w.m));
	step = palloc(sizeof(double) * (6 + w.m));

	/*
	 * Two starts: R's (small alpha and gamma), and one with a fast season
	 * (small alpha, gamma half its range) or, without a season, a fast
	 * level; the likelihood often has a second basin there.
	 */
	lik = ETS_HUGE;
	for (int start = 0; start < 2; start++)
	{
		double		lik_s;
		double	   *xs = x + (start == 0 ? 0 : 6 + w.m);

		dim = 0;
		xs[dim] = start == 0 ? lower_alpha + 0.2 * (upper - lower_alpha) / w.m :
			(season != ETS_N ? 0.05 : 0.9);
		step[dim++] = start == 0 ? 0.1 : -0.04;
		if (trend != ETS_N)
		{
			xs[dim] = Min(1e-4 + 0.1 * (upper - 1e-4), xs[0] * 0.5);
			step[dim++] = xs[0] * 0.2;
		}
		if (season != ETS_N)
		{
			xs[dim] = start == 0 ? 1e-4 + 0.05 * (1 - xs[0] - 1e-4) : 0.5 * (1 - xs[0]);
			step[dim++] = start == 0 ? 0.02 : 0.1;
		}
		if (trend == ETS_AD)
		{
			xs[dim] = 0.97;
			step[dim++] = -0.05;
		}
		xs[dim] = l0;
		step[dim++] = Max(fabs(l0) * 0.05, scale * 0.1 + 1e-8);
		if (trend != ETS_N)
		{
			xs[dim] = b0;
			step[dim++] = Max(fabs(b0) * 0.1, scale * 0.01 + 1e-8);
		}
		fc_nelder_mead(ets_objective, &w, xs, step, dim, ETS_MAX_EVALS, ETS_RELTOL, &lik_s);
		if (lik_s < lik)
		{
			lik = lik_s;
			if (start > 0)
				memcpy(x, xs, sizeof(double) * dim);
		}
	}
	if (lik < ETS_HUGE)
	{
		ets_restart_steps(&w, x, dim, scale, step);
		fc_nelder_mead(ets_objective, &w, x, step, dim, ETS_MAX_EVALS, ETS_RELTOL, &lik);
	}
	if (lik < ETS_HUGE && season != ETS_N && w.m - 1 <= ETS_MAX_FIT_SEASON)
	{
		double		mean = 0;

		/* normalized heuristic states, as the parametrization needs */
		for (int k = 0; k < w.m; k++)
			mean += w.seas0[k] / w.m;
		for (int k = 0; k < w.m - 1; k++)
			x[dim++] = season == ETS_M ? w.seas0[k] / mean : w.seas0[k] - mean;
		w.fit_seas = true;
		ets_restart_steps(&w, x, dim, scale, step);
		fc_nelder_mead(ets_objective, &w, x, step, dim, ETS_MAX_EVALS_FULL, ETS_RELTOL, &lik);
	}
	if (lik >= ETS_HUGE || !ets_unpack(&w, x, &p) ||
		(lik = ets_run(&w, &p, &l, &b, &sse)) >= ETS_HUGE)
	{
		pfree(w.seas);
		pfree(w.seas0);
		pfree(w.poly);
		pfree(x);
		pfree(step);
		return false;
	}

	fit->error = error;
	fit->trend = trend;
	fit->season = season;
	fit->m = w.m;
	fit->alpha = p.alpha;
	fit->beta = trend != ETS_N ? p.beta : NAN;
	fit->gamma = season != ETS_N ? p.gamma : NAN;
	fit->phi = trend == ETS_AD ? p.phi : (trend == ETS_A ? 1 : NAN);
	fit->level = l;
	fit->slope = trend != ETS_N ? b : 0;
	fit->seas = palloc(sizeof(double) * w.m);
	for (int k = 0; k < w.m; k++)
		fit->seas[k] = season == ETS_N ? (0) : w.seas[(n + k) % w.m];
	fit->nparams = np;
	fit->mse = sse / n;
	fit->sigma2 = sse / (n > np ? n - np : n);
	/* R's criterion drops constants; loglik here is the full Gaussian one */
	fit->aic = lik + 2 * np;
	fit->aicc = fit->aic + (n - np - 1 > 0 ? 2.0 * np * (np + 1) / (n - np - 1) : INFINITY);
	fit->bic = lik + np * log((double) n);
	fit->loglik = -0.5 * (lik + n * (log(2 * M_PI / n) + 1));
	pfree(w.seas);
	pfree(w.seas0);
	pfree(w.poly);
	pfree(x);
	pfree(step);
	return true;
}

/*
 * Parses a model string as R's ets takes it: error, trend, season, each A, M
 * (not for trend), N (not for error) or Z (choose), with "Ad" for a damped
 * additive trend: "ZZZ", "AAdA", "MNM".  damped: -1 either, 0 no, 1 yes.
 */
void
ets_parse_spec(const char *model, int damped, EtsSpec *spec, const char *caller)
{
	const char *c = model;
	int			len = strlen(model);
	bool		ok = len == 3 || (len == 4 && model[2] == 'd');

	spec->damped = damped;
	if (ok)
	{
		spec->error = c[0] == 'A' ? ETS_A : c[0] == 'M' ? ETS_M : c[0] == 'Z' ? -1 : -2;
		spec->trend = c[1] == 'N' ? ETS_N : c[1] == 'A' ? ETS_A : c[1] == 'Z' ? -1 : -2;
		c = model + (len == 4 ? 3 : 2);
		spec->season = c[0] == 'N' ? ETS_N : c[0] == 'A' ? ETS_A : c[0] == 'M' ? ETS_M :
			c[0] == 'Z' ? -1 : -2;
		ok = spec->error != -2 && spec->trend != -2 && spec->season != -2;
		if (ok && len == 4)
		{
			ok = spec->trend == ETS_A;
			spec->trend = ETS_AD;
		}
	}
	if (ok && spec->trend == ETS_AD && damped == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ETS model \"%s\" is damped, but option \"damped\" is false", model),
				 errhint("Drop one of the two, e.g. use model \"AAN\" for an undamped trend.")));
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid ETS model \"%s\" for %s", model, caller),
				 errhint("Write error, trend and season as letters: error A, M or Z; trend N, A, Ad or Z; "
						 "season N, A, M or Z (Z chooses), e.g. \"ZZZ\", \"AAdA\", \"MNM\".")));
	if (damped == 1 && spec->trend == ETS_N)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a damped ETS model needs a trend, but model \"%s\" has none", model),
				 errhint("Use trend A or Z with \"damped\": true, or drop \"damped\".")));
	if (damped == 1 && spec->trend == ETS_A)
		spec->trend = ETS_AD;
}

/* Whether a model structure is among those the model option and damped allow. */
static bool
ets_spec_allows(const EtsSpec *spec, int e, int t, int s)
{
	if (spec->error >= 0 && spec->error != e)
		return false;
	if (spec->season >= 0 && spec->season != s)
		return false;
	if (spec->trend >= 0)
		return spec->trend == t;
	/*
	 * Trend chosen: damped true offers Ad only, false N and A; by default N
	 * and Ad, because an undamped trend, extrapolated over the horizon, is
	 * what made the automatic choice miss badly (docs/forecast.md).
	 */
	if (spec->damped == 1)
		return t == ETS_AD;
	if (spec->damped == 0)
		return t != ETS_AD;
	return t != ETS_A;
}

/*
 * Fits every admissible model the spec allows and keeps the one with the
 * lowest AICc (R's ets(model = "ZZZ")).  Errors when a multiplicative
 * component was asked for on data that is not strictly positive, or when no
 * model can be fitted to so few points.
 */
void
ets_fit_auto(const double *y, int n, int m, const EtsSpec *spec, EtsFit *fit,
			 const char *caller)
{
	bool		positive = fc_all_positive(y, n);
	bool		seasonal_ok = m >= 2 && n >= 2 * m;
	double	   *seas_a = NULL,
			   *seas_m = NULL;
	double		scale = 0;
	bool		found = false;
	EtsFit		cand;

	if (!positive && (spec->error == ETS_M || spec->season == ETS_M))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a multiplicative ETS model needs strictly positive data"),
				 errhint("Use an additive model such as \"AAA\" or \"ZZA\", or shift the series above zero.")));
	if (spec->season > ETS_N && !seasonal_ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a seasonal ETS model needs a season length of at least 2 and two full seasons of data"),
				 errhint("Give the season length with the \"season\" option, or use a model with season N.")));

	for (int t = 0; t < n; t++)
		scale += fabs(y[t]);
	scale = scale / n + 1e-12;
	if (seasonal_ok && spec->season != ETS_N)
	{
		seas_a = palloc(sizeof(double) * m);
		ets_initial_seasons(y, n, m, ETS_A, seas_a);
		if (positive)
		{
			seas_m = palloc(sizeof(double) * m);
			ets_initial_seasons(y, n, m, ETS_M, seas_m);
		}
	}

	for (int e = ETS_A; e <= ETS_M; e++)
		for (int s = ETS_N; s <= ETS_M; s++)
			for (int t = ETS_N; t <= ETS_AD; t++)
			{
				if (t == ETS_M)
					continue;	/* multiplicative trend: not offered */
				if (!ets_spec_allows(spec, e, t, s))
					continue;
				if ((e == ETS_M || s == ETS_M) && !positive)
					continue;
				if (s != ETS_N && !seasonal_ok)
					continue;
				if (e == ETS_A && s == ETS_M && spec->error < 0)
					continue;	/* unstable; only when asked for */
				CHECK_FOR_INTERRUPTS();
				if (!ets_fit_one(y, n, m, e, t, s, s == ETS_A ? seas_a : seas_m, scale, &cand))
					continue;
				if (!found || cand.aicc < fit->aicc)
				{
					if (found)
						pfree(fit->seas);
					*fit = cand;
					found = true;
				}
				else
					pfree(cand.seas);
			}

	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("%s cannot fit the requested ETS model to %d points", caller, n),
				 errhint("A model needs more points than parameters: at least %d for a non-seasonal "
						 "model, and two full seasons plus its parameters for a seasonal one.",
						 ets_count_params(ETS_N, ETS_N, 1) + 2)));
	if (seas_a)
		pfree(seas_a);
	if (seas_m)
		pfree(seas_m);
}

/* "ETS(M,Ad,A)", R's notation. */
const char *
ets_name(const EtsFit *fit, char *buf)
{
	static const char *const comp[] = {"N", "A", "M", "Ad"};

	snprintf(buf, 16, "ETS(%s,%s,%s)", comp[fit->error], comp[fit->trend], comp[fit->season]);
	return buf;
}

/*
 * Whether prediction intervals have a closed form: Hyndman et al.'s class 1
 * (additive error, no multiplicative component) and class 2 (multiplicative
 * error, no season).
 */
bool
ets_analytic(const EtsFit *fit)
{
	return fit->season != ETS_M && (fit->error == ETS_A || fit->season == ETS_N);
}

/* Point forecasts: the recursion without errors. */
static void
ets_point(const EtsFit *fit, double *mean, int h)
{
	double		phisum = 0,
				phik = 1;

	for (int i = 0; i < h; i++)
	{
		double		q;

		if (fit->trend == ETS_AD)
		{
			phik *= fit->phi;
			phisum += phik;
		}
		else
			phisum += 1;
		q = fit->level + (fit->trend == ETS_N ? 0 : phisum * fit->slope);
		if (fit->season == ETS_A)
			q += fit->seas[i % fit->m];
		else if (fit->season == ETS_M)
			q *= fit->seas[i % fit->m];
		mean[i] = q;
	}
}

/* c_j of the variance formulas: how an error j steps back moves a forecast. */
static double
ets_cj(const EtsFit *fit, int j, double phisum)
{
	double		c = fit->alpha;

	if (fit->trend != ETS_N)
		c += fit->beta * phisum;
	if (fit->season != ETS_N && j % fit->m == 0)
		c += fit->gamma;
	return c;
}

/*
 * Closed-form forecast variances: class 1 sums c_j^2, class 2 follows
 * Hyndman et al. (2008), chapter 6.
 */
static void
ets_analytic_intervals(const EtsFit *fit, FcPath *path)
{
	int			h = path->h;
	double	   *var = palloc(sizeof(double) * h);
	double	   *c = palloc(sizeof(double) * h);
	double		phisum = 0,
				phik = 1;

	for (int j = 1; j < h; j++)
	{
		if (fit->trend == ETS_AD)
		{
			phik *= fit->phi;
			phisum += phik;
		}
		else
			phisum += 1;
		c[j] = ets_cj(fit, j, phisum);
	}
	if (fit->error == ETS_A)
	{
		double		acc = 1;

		for (int i = 0; i < h; i++)
		{
			if (i > 0)
				acc += c[i] * c[i];
			var[i] = fit->sigma2 * acc;
		}
	}
	else
	{
		/* class 2: theta_h = mu_h^2 + sigma^2 sum c_j^2 theta_{h-j} */
		double	   *theta = palloc(sizeof(double) * h);

		for (int i = 0; i < h; i++)
		{
			double		s = 0;

			if ((i & 1023) == 0)
				CHECK_FOR_INTERRUPTS();
			for (int j = 1; j <= i; j++)
				s += c[j] * c[j] * theta[i - j];
			theta[i] = path->mean[i] * path->mean[i] + fit->sigma2 * s;
			var[i] = (1 + fit->sigma2) * theta[i] - path->mean[i] * path->mean[i];
		}
		pfree(theta);
	}
	for (int l = 0; l < path->nlevels; l++)
	{
		double		z = aiml_normal_quantile(0.5 + path->levels[l] / 200);

		for (int i = 0; i < h; i++)
		{
			double		sd = sqrt(Max(var[i], 0));

			path->lo[l * h + i] = path->mean[i] - z * sd;
			path->hi[l * h + i] = path->mean[i] + z * sd;
		}
	}
	pfree(var);
	pfree(c);
}

/* qsort order of doubles. */
static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* Quantile of sorted v[n] by linear interpolation (R's type 7). */
static double
sorted_quantile(const double *v, int n, double p)
{
	double		pos = p * (n - 1);
	int			i = (int) floor(pos);

	if (i >= n - 1)
		return v[n - 1];
	return v[i] + (pos - i) * (v[i + 1] - v[i]);
}

/*
 * Intervals by simulating sample paths from the fitted model with Gaussian
 * errors, all paths advanced together one step at a time so memory is
 * simulations x (m + 2) doubles whatever the horizon.
 */
static void
ets_simulated_intervals(const EtsFit *fit, FcPath *path, uint64 seed, int nsim)
{
	int			h = path->h;
	int			m = fit->m;
	double	   *l = palloc(sizeof(double) * nsim);
	double	   *b = palloc(sizeof(double) * nsim);
	double	   *s = palloc(sizeof(double) * (Size) nsim * m);
	double	   *vals = palloc(sizeof(double) * nsim);
	double		sigma = sqrt(fit->sigma2);
	EtsParams	p = {fit->alpha, fit->beta, fit->gamma, fit->phi};
	AimlRng		rng;

	if (fit->trend == ETS_N)
		p.beta = 0;
	if (fit->trend != ETS_AD)
		p.phi = 1;
	if (fit->season == ETS_N)
		p.gamma = 0;
	aiml_rng_seed(&rng, seed);
	for (int k = 0; k < nsim; k++)
	{
		l[k] = fit->level;
		b[k] = fit->slope;
		memcpy(s + (Size) k * m, fit->seas, sizeof(double) * m);
	}
	for (int i = 0; i < h; i++)
	{
		CHECK_FOR_INTERRUPTS();
		for (int k = 0; k < nsim; k++)
		{
			double	   *sk = s + (Size) k * m + i % m;
			double		so = fit->season == ETS_N ? 0 : *sk;
			double		q = l[k] + (fit->trend == ETS_N ? 0 : p.phi * b[k]);
			double		mu = fit->season == ETS_M ? q * so : q + so;
			double		e = sigma * aiml_rng_normal(&rng);
			double		y = fit->error == ETS_M ? mu * (1 + e) : mu + e;
			bool		ok = true;

			if (fit->season == ETS_N)
			{
				double		dummy = 0;

				ets_step(&p, fit->trend, fit->season, &l[k], &b[k], &dummy, y, &ok);
			}
			else
				ets_step(&p, fit->trend, fit->season, &l[k], &b[k], sk, y, &ok);
			vals[k] = ok ? y : mu;
		}
		qsort(vals, nsim, sizeof(double), cmp_double);
		for (int lv = 0; lv < path->nlevels; lv++)
		{
			double		a = (1 - path->levels[lv] / 100) / 2;

			path->lo[lv * h + i] = sorted_quantile(vals, nsim, a);
			path->hi[lv * h + i] = sorted_quantile(vals, nsim, 1 - a);
		}
	}
	pfree(l);
	pfree(b);
	pfree(s);
	pfree(vals);
}

/* Point forecasts and intervals of an ETS model for path->h steps. */
void
ets_forecast(const EtsFit *fit, FcPath *path, uint64 seed, int simulations)
{
	ets_point(fit, path->mean, path->h);
	if (path->nlevels == 0)
		return;
	if (ets_analytic(fit))
		ets_analytic_intervals(fit, path);
	else
		ets_simulated_intervals(fit, path, seed, simulations);
}
