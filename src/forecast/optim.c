/*
 * optim.c: the numerical helpers the forecasting models share: a
 * Nelder-Mead minimizer (the method R's optim() uses to fit ETS) and the
 * normal quantile function for prediction intervals.
 */
#include "postgres.h"

#include <math.h>

#include "forecast/forecast.h"
#include "miscadmin.h"

#define NM_MAX_DIM 8

/*
 * Minimizes f from x (dim <= 8) with initial steps step; the objective
 * returns a large value outside its admissible region.  Stops when the
 * simplex's values agree to reltol (relative) or after max_evals calls.
 * Leaves the best point in x, its value in *fmin; returns the evaluations.
 */
int
fc_nelder_mead(FcObjective f, void *arg, double *x, const double *step,
			   int dim, int max_evals, double reltol, double *fmin)
{
	double		p[NM_MAX_DIM + 1][NM_MAX_DIM];
	double		fv[NM_MAX_DIM + 1];
	double		centroid[NM_MAX_DIM];
	double		xr[NM_MAX_DIM],
				xe[NM_MAX_DIM],
				xc[NM_MAX_DIM];
	int			evals = 0;

	Assert(dim >= 1 && dim <= NM_MAX_DIM);
	for (int i = 0; i <= dim; i++)
	{
		memcpy(p[i], x, sizeof(double) * dim);
		if (i > 0)
			p[i][i - 1] += step[i - 1];
		fv[i] = f(p[i], arg);
		evals++;
	}

	while (evals < max_evals)
	{
		int			best = 0,
					worst = 0,
					second = 0;
		double		fr,
					fe,
					fc;

		CHECK_FOR_INTERRUPTS();
		for (int i = 1; i <= dim; i++)
		{
			if (fv[i] < fv[best])
				best = i;
			if (fv[i] > fv[worst])
				worst = i;
		}
		second = best;
		for (int i = 0; i <= dim; i++)
			if (i != worst && fv[i] > fv[second])
				second = i;
		if (fabs(fv[worst] - fv[best]) <= reltol * (fabs(fv[best]) + reltol))
			break;

		for (int j = 0; j < dim; j++)
		{
			centroid[j] = 0;
			for (int i = 0; i <= dim; i++)
				if (i != worst)
					centroid[j] += p[i][j];
			centroid[j] /= dim;
		}
		for (int j = 0; j < dim; j++)
			xr[j] = centroid[j] + (centroid[j] - p[worst][j]);
		fr = f(xr, arg);
		evals++;
		if (fr < fv[best])
		{
			for (int j = 0; j < dim; j++)
				xe[j] = centroid[j] + 2.0 * (centroid[j] - p[worst][j]);
			fe = f(xe, arg);
			evals++;
			if (fe < fr)
			{
				memcpy(p[worst], xe, sizeof(double) * dim);
				fv[worst] = fe;
			}
			else
			{
				memcpy(p[worst], xr, sizeof(double) * dim);
				fv[worst] = fr;
			}
			continue;
		}
		if (fr < fv[second])
		{
			memcpy(p[worst], xr, sizeof(double) * dim);
			fv[worst] = fr;
			continue;
		}
		/* contract, outside or inside */
		if (fr < fv[worst])
			for (int j = 0; j < dim; j++)
				xc[j] = centroid[j] + 0.5 * (xr[j] - centroid[j]);
		else
			for (int j = 0; j < dim; j++)
				xc[j] = centroid[j] + 0.5 * (p[worst][j] - centroid[j]);
		fc = f(xc, arg);
		evals++;
		if (fc < Min(fr, fv[worst]))
		{
			memcpy(p[worst], xc, sizeof(double) * dim);
			fv[worst] = fc;
			continue;
		}
		/* shrink towards the best point */
		for (int i = 0; i <= dim; i++)
		{
			if (i == best)
				continue;
			for (int j = 0; j < dim; j++)
				p[i][j] = p[best][j] + 0.5 * (p[i][j] - p[best][j]);
			fv[i] = f(p[i], arg);
			evals++;
		}
	}

	{
		int			best = 0;

		for (int i = 1; i <= dim; i++)
			if (fv[i] < fv[best])
				best = i;
		memcpy(x, p[best], sizeof(double) * dim);
		*fmin = fv[best];
	}
	return evals;
}

/*
 * The standard normal quantile (Acklam's rational approximation, refined by
 * one Halley step with erfc), accurate to about 1e-15.
 */
double
fc_qnorm(double p)
{
	static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
		-2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01,
	2.506628277459239e+00};
	static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
		-1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01};
	static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
		-2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00,
	2.938163982698783e+00};
	static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
	2.445134137142996e+00, 3.754408661907416e+00};
	double		q,
				r,
				x,
				e,
				u;

	if (p <= 0)
		return -INFINITY;
	if (p >= 1)
		return INFINITY;
	if (p < 0.02425)
	{
		q = sqrt(-2 * log(p));
		x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
			((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	}
	else if (p > 1 - 0.02425)
	{
		q = sqrt(-2 * log(1 - p));
		x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
			((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	}
	else
	{
		q = p - 0.5;
		r = q * q;
		x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
			(((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
	}
	e = 0.5 * erfc(-x / sqrt(2)) - p;
	u = e * sqrt(2 * M_PI) * exp(x * x / 2);
	return x - u / (1 + x * u / 2);
}
