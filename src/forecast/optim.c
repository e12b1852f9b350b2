/*
 * optim.c: the numerical helpers the forecasting models share: a
 * Nelder-Mead minimizer (the method R's optim() uses to fit ETS) and the
 * normal quantile function for prediction intervals.
 */
#include "postgres.h"

#include <math.h>

#include "forecast/forecast.h"
#include "miscadmin.h"

/*
 * Minimizes f from x with initial steps step; the objective
 * returns a large value outside its admissible region.  Stops when the
 * simplex's values agree to reltol (relative) or after max_evals calls.
 * Leaves the best point in x, its value in *fmin; returns the evaluations.
 * The simplex takes (dim + 1) * dim doubles, allocated here.
 */
int
fc_nelder_mead(FcObjective f, void *arg, double *x, const double *step,
			   int dim, int max_evals, double reltol, double *fmin)
{
	double	  **p = palloc(sizeof(double *) * (dim + 1));
	double	   *fv = palloc(sizeof(double) * (dim + 1));
	double	   *centroid = palloc(sizeof(double) * dim);
	double	   *xr = palloc(sizeof(double) * dim);
	double	   *xe = palloc(sizeof(double) * dim);
	double	   *xc = palloc(sizeof(double) * dim);
	int			evals = 0;

	Assert(dim >= 1);
	for (int i = 0; i <= dim; i++)
	{
		p[i] = palloc(sizeof(double) * dim);
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
	for (int i = 0; i <= dim; i++)
		pfree(p[i]);
	pfree(p);
	pfree(fv);
	pfree(centroid);
	pfree(xr);
	pfree(xe);
	pfree(xc);
	return evals;
}
