/*
 * stats.c: see stats.h.
 */
#include "postgres.h"

#include <math.h>

#include "core/stats.h"

/* Hoare's selection: the k-th smallest of v[0..n-1], partially sorting v. */
static double
select_kth(double *v, int n, int k)
{
	int			lo = 0,
				hi = n - 1;

	while (lo < hi)
	{
		double		pivot = v[lo + (hi - lo) / 2];
		int			i = lo,
					j = hi;

		while (i <= j)
		{
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j)
			{
				double		t = v[i];

				v[i++] = v[j];
				v[j--] = t;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	return v[k];
}

double
aiml_median_inplace(double *v, int n)
{
	double		upper;
	double		lower = -INFINITY;

	Assert(n > 0);
	upper = select_kth(v, n, n / 2);
	if (n % 2 == 1)
		return upper;
	/* after selection, everything left of n/2 is <= upper: take its maximum */
	for (int i = 0; i < n / 2; i++)
		lower = Max(lower, v[i]);
	return (lower + upper) / 2;
}

double
aiml_mad(const double *v, int n, double center, double *scratch)
{
	for (int i = 0; i < n; i++)
		scratch[i] = fabs(v[i] - center);
	return aiml_median_inplace(scratch, n);
}

/*
 * Acklam's rational approximation of the normal quantile (relative error
 * below 1.2e-9), refined by one Halley step with erfc.
 */
double
aiml_normal_quantile(double p)
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
	e = 0.5 * erfc(-x / M_SQRT2) - p;
	u = e * sqrt(2 * M_PI) * exp(x * x / 2);
	return x - u / (1 + x * u / 2);
}

/*
 * Student t quantile by the Cornish-Fisher expansion around the normal
 * quantile (Abramowitz & Stegun 26.7.5): accurate to about 1e-4 for 5 or more
 * degrees of freedom, which is where the detectors use it.
 */
double
aiml_t_quantile(double p, double df)
{
	double		z = aiml_normal_quantile(p);
	double		z2 = z * z;
	double		g1 = (z2 + 1) * z / 4;
	double		g2 = ((5 * z2 + 16) * z2 + 3) * z / 96;
	double		g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384;
	double		g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160;

	return z + g1 / df + g2 / (df * df) + g3 / (df * df * df) + g4 / (df * df * df * df);
}
