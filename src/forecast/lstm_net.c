/*
 * lstm_net.c: the LSTM network itself, free of SQL: parameter layout and
 * initialization, the forward and backward passes over a mini-batch, and a
 * finite-difference check of the backward pass.
 *
 * Every array is time-major (step t, then sample b, then unit j), so the
 * products that do not depend on the recurrence run as one dgemm over all
 * steps and samples at once: the input-to-gate product in the forward pass,
 * and the weight gradients and the gradient to the layer below in the
 * backward pass.  Only the recurrent product h(t-1) Wh' is done per step,
 * still batched over the samples.  Gate nonlinearities are elementwise loops.
 */
#include "postgres.h"

#include <math.h>

#include "core/blas.h"
#include "forecast/lstm.h"

/* Parameter offsets of every weight block, in serialization order. */
void
lstm_layout(const LstmShape *shape, LstmLayout *layout)
{
	Size		pos = 0;
	Size		g = 4 * (Size) shape->hidden;

	memset(layout, 0, sizeof(*layout));
	for (int l = 0; l < shape->layers; l++)
	{
		Size		in = l == 0 ? shape->inputs : shape->hidden;

		layout->wx[l] = pos;
		pos += g * in;
		layout->wh[l] = pos;
		pos += g * shape->hidden;
		layout->b[l] = pos;
		pos += g;
	}
	layout->wy = pos;
	pos += (Size) shape->horizon * shape->hidden;
	layout->by = pos;
	pos += shape->horizon;
	layout->total = pos;
}

/* Doubles one batch of activations and scratch gradients takes. */
static Size
work_doubles(const LstmShape *shape, int batch)
{
	Size		tb = (Size) shape->window * batch;
	Size		h = shape->hidden;

	return tb * shape->inputs + shape->layers * tb * 7 * h +
		(Size) batch * shape->horizon + tb * 4 * h + 2 * tb * h + 3 * (Size) batch * h;
}

Size
lstm_work_bytes(const LstmShape *shape, int batch)
{
	return work_doubles(shape, batch) * sizeof(double);
}

/*
 * Allocates the activation buffers for batches of up to batch samples in
 * the current memory context, as one allocation each, zeroed.
 */
void
lstm_work_init(LstmWork *work, const LstmShape *shape, int batch)
{
	Size		tb = (Size) shape->window * batch;
	Size		h = shape->hidden;

	memset(work, 0, sizeof(*work));
	work->max_batch = batch;
	work->x = palloc0(sizeof(double) * tb * shape->inputs);
	for (int l = 0; l < shape->layers; l++)
	{
		work->gates[l] = palloc0(sizeof(double) * tb * 4 * h);
		work->cells[l] = palloc0(sizeof(double) * tb * h);
		work->tcells[l] = palloc0(sizeof(double) * tb * h);
		work->hs[l] = palloc0(sizeof(double) * tb * h);
	}
	work->y = palloc0(sizeof(double) * batch * shape->horizon);
	work->dgates = palloc0(sizeof(double) * tb * 4 * h);
	work->dh_in = palloc0(sizeof(double) * tb * h);
	work->dh_below = palloc0(sizeof(double) * tb * h);
	work->dh_next = palloc0(sizeof(double) * batch * h);
	work->dc_next = palloc0(sizeof(double) * batch * h);
	work->zeros = palloc0(sizeof(double) * batch * h);
}

/*
 * PyTorch's initialization (uniform within +-1/sqrt(hidden) for every LSTM
 * and head parameter), so the benchmark compares like with like.
 */
void
lstm_init_params(const LstmShape *shape, const LstmLayout *layout,
				 double *theta, AimlRng *rng)
{
	double		k = 1.0 / sqrt((double) shape->hidden);

	for (Size p = 0; p < layout->total; p++)
		theta[p] = aiml_rng_uniform_range(rng, -k, k);
}

/*
 * exp() for the gate nonlinearities, written so the compiler vectorizes the
 * loops that call it (libm's exp and tanh took a third of the training time):
 * x = k ln2 + r with |r| <= ln2/2, exp(r) by its Taylor polynomial to r^12
 * (relative error below 2e-16), 2^k put into the exponent bits directly.
 * The argument is clamped to +-700, where the activations are saturated.
 */
static inline double
gate_exp(double x)
{
	const double shifter = 0x1.8p52;
	double		kd,
				r,
				p,
				scale;
	uint64		bits;

	x = x < -700.0 ? -700.0 : x;
	x = x > 700.0 ? 700.0 : x;
	kd = x * 1.4426950408889634 + shifter;
	memcpy(&bits, &kd, sizeof(bits));
	kd -= shifter;
	r = x - kd * 0.6931471805599453;
	r -= kd * 2.3190468138462996e-17;
	p = 1.0 / 479001600.0;
	p = p * r + 1.0 / 39916800.0;
	p = p * r + 1.0 / 3628800.0;
	p = p * r + 1.0 / 362880.0;
	p = p * r + 1.0 / 40320.0;
	p = p * r + 1.0 / 5040.0;
	p = p * r + 1.0 / 720.0;
	p = p * r + 1.0 / 120.0;
	p = p * r + 1.0 / 24.0;
	p = p * r + 1.0 / 6.0;
	p = p * r + 0.5;
	p = p * r + 1.0;
	p = p * r + 1.0;
	bits = (bits + 1023) << 52;
	memcpy(&scale, &bits, sizeof(scale));
	return p * scale;
}

/*
 * The gate loops are also compiled for AVX2 with FMA, chosen at load time
 * when the CPU has them (GCC's function multiversioning), which doubles
 * their vector width over the baseline x86-64 build.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define GATE_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define GATE_CLONES
#endif

/* x[i] = sigmoid(x[i]) */
GATE_CLONES static void
sigmoid_inplace(double *restrict x, int n)
{
	for (int i = 0; i < n; i++)
		x[i] = 1.0 / (1.0 + gate_exp(-x[i]));
}

/* out[i] = tanh(x[i]), accurate to about 1e-16 absolute */
GATE_CLONES static void
tanh_into(const double *x, double *out, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = 1.0 - 2.0 / (gate_exp(2.0 * x[i]) + 1.0);
}

/*
 * One layer over all steps: gates = X Wx' + b for every step in one dgemm,
 * then per step the recurrent product and the cell update.
 */
static void
layer_forward(const LstmShape *shape, const LstmLayout *layout, const double *theta,
			  LstmWork *work, int batch, int l)
{
	int			h = shape->hidden;
	int			g4 = 4 * h;
	int			in = l == 0 ? shape->inputs : h;
	int			tb = shape->window * batch;
	const double *x = l == 0 ? work->x : work->hs[l - 1];
	const double *wx = theta + layout->wx[l];
	const double *wh = theta + layout->wh[l];
	const double *bias = theta + layout->b[l];
	double	   *gates = work->gates[l];

	for (int r = 0; r < tb; r++)
		memcpy(gates + (Size) r * g4, bias, sizeof(double) * g4);
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, tb, g4, in,
				1.0, x, in, wx, in, 1.0, gates, g4);

	for (int t = 0; t < shape->window; t++)
	{
		double	   *gt = gates + (Size) t * batch * g4;
		double	   *ct = work->cells[l] + (Size) t * batch * h;
		double	   *tct = work->tcells[l] + (Size) t * batch * h;
		double	   *ht = work->hs[l] + (Size) t * batch * h;
		const double *cprev = t > 0 ? ct - (Size) batch * h : work->zeros;

		if (t > 0)
			cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, g4, h,
						1.0, ht - (Size) batch * h, h, wh, h, 1.0, gt, g4);
		for (int b = 0; b < batch; b++)
		{
			double	   *gb = gt + (Size) b * g4;
			Size		row = (Size) b * h;

			sigmoid_inplace(gb, 2 * h);	/* input and forget gates */
			tanh_into(gb + 2 * h, gb + 2 * h, h);
			sigmoid_inplace(gb + 3 * h, h);
			for (int j = 0; j < h; j++)
				ct[row + j] = gb[h + j] * cprev[row + j] + gb[j] * gb[2 * h + j];
			tanh_into(ct + row, tct + row, h);
			for (int j = 0; j < h; j++)
				ht[row + j] = gb[3 * h + j] * tct[row + j];
		}
	}
}

/*
 * Forward pass of a batch whose inputs are already in work->x (time-major);
 * the head's outputs land in work->y (batch x horizon).
 */
void
lstm_forward(const LstmShape *shape, const LstmLayout *layout,
			 const double *theta, LstmWork *work, int batch)
{
	int			h = shape->hidden;
	int			k = shape->horizon;
	const double *hlast;

	Assert(batch <= work->max_batch);
	for (int l = 0; l < shape->layers; l++)
		layer_forward(shape, layout, theta, work, batch, l);

	hlast = work->hs[shape->layers - 1] + (Size) (shape->window - 1) * batch * h;
	for (int b = 0; b < batch; b++)
		memcpy(work->y + (Size) b * k, theta + layout->by, sizeof(double) * k);
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, k, h,
				1.0, hlast, h, theta + layout->wy, h, 1.0, work->y, k);
}

/*
 * Mean squared (or, with LSTM_LOSS_MAE, absolute) error of work->y against
 * target (batch x horizon); when dy is not NULL it receives the loss's
 * gradient with respect to y (the absolute error's subgradient, 0 at 0).
 */
double
lstm_loss(const LstmShape *shape, const LstmWork *work, int batch,
		  const double *target, LstmLoss loss, double *dy)
{
	Size		n = (Size) batch * shape->horizon;
	double		sum = 0;

	for (Size i = 0; i < n; i++)
	{
		double		e = work->y[i] - target[i];

		if (loss == LSTM_LOSS_MAE)
		{
			sum += fabs(e);
			if (dy)
				dy[i] = (e > 0 ? 1.0 : e < 0 ? -1.0 : 0.0) / n;
		}
		else
		{
			sum += e * e;
			if (dy)
				dy[i] = 2.0 * e / n;
		}
	}
	return sum / n;
}

/* Sums the rows of m (rows x cols) into out. */
static void
column_sums(const double *m, int rows, int cols, double *out)
{
	memset(out, 0, sizeof(double) * cols);
	for (int r = 0; r < rows; r++)
		for (int c = 0; c < cols; c++)
			out[c] += m[(Size) r * cols + c];
}

/*
 * Gradients of one sample's gate pre-activations at one step, from the
 * gradient reaching its output (from above and from the next step) and its
 * cell (from the next step); updates dc_next to the previous step's.
 */
GATE_CLONES static void
gate_backward_row(const double *restrict gb, const double *restrict tc,
				  const double *restrict cprev, const double *restrict dh_above,
				  const double *restrict dh_next, double *restrict dc_next,
				  double *restrict db, int h)
{
	for (int j = 0; j < h; j++)
	{
		double		ig = gb[j],
					fg = gb[h + j],
					cg = gb[2 * h + j],
					og = gb[3 * h + j];
		double		dh = dh_above[j] + dh_next[j];
		double		dc = dc_next[j] + dh * og * (1.0 - tc[j] * tc[j]);

		db[j] = dc * cg * ig * (1.0 - ig);
		db[h + j] = dc * cprev[j] * fg * (1.0 - fg);
		db[2 * h + j] = dc * ig * (1.0 - cg * cg);
		db[3 * h + j] = dh * tc[j] * og * (1.0 - og);
		dc_next[j] = dc * fg;
	}
}

/*
 * Backpropagation through the steps of one layer, given the gradient of the
 * loss with respect to its outputs in work->dh_in; leaves the gradient with
 * respect to its inputs in work->dh_below (for layers above the first).
 */
static void
layer_backward(const LstmShape *shape, const LstmLayout *layout, const double *theta,
			   LstmWork *work, int batch, int l, double *grad)
{
	int			h = shape->hidden;
	int			g4 = 4 * h;
	int			in = l == 0 ? shape->inputs : h;
	int			tb = shape->window * batch;
	const double *x = l == 0 ? work->x : work->hs[l - 1];
	const double *wx = theta + layout->wx[l];
	const double *wh = theta + layout->wh[l];

	memset(work->dh_next, 0, sizeof(double) * batch * h);
	memset(work->dc_next, 0, sizeof(double) * batch * h);
	for (int t = shape->window - 1; t >= 0; t--)
	{
		const double *gt = work->gates[l] + (Size) t * batch * g4;
		const double *tct = work->tcells[l] + (Size) t * batch * h;
		const double *cprev = t > 0 ? work->cells[l] + (Size) (t - 1) * batch * h : work->zeros;
		const double *dht = work->dh_in + (Size) t * batch * h;
		double	   *dgt = work->dgates + (Size) t * batch * g4;

		for (int b = 0; b < batch; b++)
		{
			Size		row = (Size) b * h;

			gate_backward_row(gt + (Size) b * g4, tct + row, cprev + row, dht + row,
							  work->dh_next + row, work->dc_next + row,
							  dgt + (Size) b * g4, h);
		}
		if (t > 0)
			cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, h, g4,
						1.0, dgt, g4, wh, h, 0.0, work->dh_next, h);
	}

	/* weight gradients over all steps at once */
	if (shape->window > 1)
		cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g4, h, tb - batch,
					1.0, work->dgates + (Size) batch * g4, g4, work->hs[l], h,
					0.0, grad + layout->wh[l], h);
	cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g4, in, tb,
				1.0, work->dgates, g4, x, in, 0.0, grad + layout->wx[l], in);
	column_sums(work->dgates, tb, g4, grad + layout->b[l]);
	if (l > 0)
		cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, tb, h, g4,
					1.0, work->dgates, g4, wx, h, 0.0, work->dh_below, h);
}

/*
 * Gradient of the loss with respect to every parameter (overwriting grad),
 * given dy from lstm_loss after lstm_forward on the same batch.
 */
void
lstm_backward(const LstmShape *shape, const LstmLayout *layout,
			  const double *theta, LstmWork *work, int batch,
			  const double *dy, double *grad)
{
	int			h = shape->hidden;
	int			k = shape->horizon;
	Size		tb = (Size) shape->window * batch;
	const double *hlast = work->hs[shape->layers - 1] + (tb - batch) * h;

	memset(grad, 0, sizeof(double) * layout->total);
	cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, h, batch,
				1.0, dy, k, hlast, h, 0.0, grad + layout->wy, h);
	column_sums(dy, batch, k, grad + layout->by);

	memset(work->dh_in, 0, sizeof(double) * tb * h);
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, h, k,
				1.0, dy, k, theta + layout->wy, h, 0.0, work->dh_in + (tb - batch) * h, h);

	for (int l = shape->layers - 1; l >= 0; l--)
	{
		layer_backward(shape, layout, theta, work, batch, l, grad);
		if (l > 0)
		{
			double	   *swap = work->dh_in;

			work->dh_in = work->dh_below;
			work->dh_below = swap;
		}
	}
}

/*
 * Calendar features of a timestamp in UTC: sine and cosine of the hour of
 * the day (with minutes) and of the day of the week, so midnight is next to
 * 23:00 and Sunday next to Saturday.  PostgreSQL's epoch, 2000-01-01, was a
 * Saturday.
 */
void
lstm_calendar_features(TimestampTz ts, double *out)
{
	int64		day = ts / USECS_PER_DAY;
	int64		in_day = ts % USECS_PER_DAY;
	double		hour;
	int			dow;

	if (in_day < 0)
	{
		in_day += USECS_PER_DAY;
		day--;
	}
	hour = (double) in_day / USECS_PER_HOUR;
	dow = (int) (((day + 6) % 7 + 7) % 7);
	out[0] = sin(2 * M_PI * hour / 24);
	out[1] = cos(2 * M_PI * hour / 24);
	out[2] = sin(2 * M_PI * dow / 7);
	out[3] = cos(2 * M_PI * dow / 7);
}

/* Loss of the current parameters on the batch in work (for the check). */
static double
batch_loss(const LstmShape *shape, const LstmLayout *layout, const double *theta,
		   LstmWork *work, int batch, const double *target)
{
	lstm_forward(shape, layout, theta, work, batch);
	return lstm_loss(shape, work, batch, target, LSTM_LOSS_MSE, NULL);
}

/*
 * Largest relative difference between the backward pass's gradient and
 * central finite differences, on a tiny random network with two layers,
 * several inputs and outputs: a diagnostic that the calculus is right.
 */
double
lstm_gradient_check(uint64 seed)
{
	LstmShape	shape = {.layers = 2,.hidden = 3,.inputs = 5,.window = 4,.horizon = 2};
	int			batch = 3;
	LstmLayout	layout;
	LstmWork	work;
	AimlRng		rng;
	double	   *theta,
			   *grad,
			   *dy,
			   *target;
	double		worst = 0;
	const double eps = 1e-5;

	lstm_layout(&shape, &layout);
	lstm_work_init(&work, &shape, batch);
	aiml_rng_seed(&rng, seed);
	theta = palloc(sizeof(double) * layout.total);
	grad = palloc(sizeof(double) * layout.total);
	dy = palloc(sizeof(double) * batch * shape.horizon);
	target = palloc(sizeof(double) * batch * shape.horizon);
	for (Size p = 0; p < layout.total; p++)
		theta[p] = 0.5 * aiml_rng_normal(&rng);
	for (int i = 0; i < shape.window * batch * shape.inputs; i++)
		work.x[i] = aiml_rng_normal(&rng);
	for (int i = 0; i < batch * shape.horizon; i++)
		target[i] = aiml_rng_normal(&rng);

	lstm_forward(&shape, &layout, theta, &work, batch);
	lstm_loss(&shape, &work, batch, target, LSTM_LOSS_MSE, dy);
	lstm_backward(&shape, &layout, theta, &work, batch, dy, grad);

	for (Size p = 0; p < layout.total; p++)
	{
		double		keep = theta[p];
		double		up,
					down,
					numeric;

		theta[p] = keep + eps;
		up = batch_loss(&shape, &layout, theta, &work, batch, target);
		theta[p] = keep - eps;
		down = batch_loss(&shape, &layout, theta, &work, batch, target);
		theta[p] = keep;
		numeric = (up - down) / (2 * eps);
		worst = Max(worst, fabs(numeric - grad[p]) /
					Max(fabs(numeric) + fabs(grad[p]), 1e-6));
	}
	return worst;
}
