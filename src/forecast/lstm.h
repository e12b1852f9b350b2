/*
 * lstm.h: the lstm model kind, a stacked LSTM with a dense head that predicts
 * the next `horizon` values of a series at once (direct multi-step).
 *
 * Three files share this header:
 *   lstm_net.c    the network: parameter layout, batched forward and backward
 *                 passes on OpenBLAS, Adam with global-norm clipping
 *   lstm_train.c  aiml.lstm_train: reading the query, windows, scaling,
 *                 the training loop with early stopping
 *   lstm.c        the model payload, describe, forecasting, the gradient check
 *
 * The statistical forecasting module's dispatcher (aiml.forecast(model,
 * horizon)) calls lstm_forecast for models of kind lstm.
 */
#ifndef AIML_LSTM_H
#define AIML_LSTM_H

#include "core/model.h"
#include "core/rng.h"
#include "datatype/timestamp.h"

/*
 * Version 2 added season, deseasonalize, stride, loss and ensemble members;
 * version 1 models (one member, normalize "series" or "window") still load.
 */
#define LSTM_FORMAT_VERSION 2

/* bounds of the architecture; the reader enforces them on forged models */
#define LSTM_MAX_LAYERS		3
#define LSTM_MAX_HIDDEN		256
#define LSTM_MAX_WINDOW		5000
#define LSTM_MAX_HORIZON	1000
#define LSTM_MAX_EPOCHS		100000
#define LSTM_MAX_SERIES		10000000
#define LSTM_MAX_MEMBERS	20

/* inputs per time step: the scaled value, then sin/cos of hour and weekday */
#define LSTM_CALENDAR_FEATURES 4

/* Where a window's values are centred and what unit they are measured in. */
typedef enum LstmNormalize
{
	LSTM_NORM_SERIES = 0,		/* the series' mean, in its standard deviation */
	LSTM_NORM_WINDOW = 1,		/* the window's last value, in the series' deviation */
	LSTM_NORM_SEASON = 2		/* the mean of the window's last season, in its mean |value| */
} LstmNormalize;

typedef enum LstmLoss
{
	LSTM_LOSS_MSE = 0,
	LSTM_LOSS_MAE = 1
} LstmLoss;

/* The shape of a network; everything else about its memory follows from it. */
typedef struct LstmShape
{
	int			layers;
	int			hidden;
	int			inputs;			/* features per time step: patch, + 4 with calendar */
	int			window;			/* time steps per sample: the window / patch */
	int			horizon;		/* outputs of the dense head */
} LstmShape;

/*
 * Where each layer's weights live inside the one flat parameter vector (so
 * Adam, clipping and serialization treat all parameters as one array).
 * Layer l has Wx (4H x in_l), Wh (4H x H) and b (4H), gates in the order
 * input, forget, cell, output; the head has Wy (horizon x H) and by.
 */
typedef struct LstmLayout
{
	Size		wx[LSTM_MAX_LAYERS];
	Size		wh[LSTM_MAX_LAYERS];
	Size		b[LSTM_MAX_LAYERS];
	Size		wy;
	Size		by;
	Size		total;
} LstmLayout;

/*
 * Activations of one batch, kept for the backward pass, and the scratch
 * gradients; sized once for the largest batch (weights + one batch of
 * activations is the whole training memory besides the data).
 */
typedef struct LstmWork
{
	int			max_batch;
	double	   *x;				/* window x batch x inputs, time-major */
	double	   *gates[LSTM_MAX_LAYERS]; /* window x batch x 4H, activated */
	double	   *cells[LSTM_MAX_LAYERS]; /* window x batch x H */
	double	   *tcells[LSTM_MAX_LAYERS];	/* tanh of cells */
	double	   *hs[LSTM_MAX_LAYERS];	/* window x batch x H */
	double	   *y;				/* batch x horizon */
	double	   *dgates;			/* window x batch x 4H */
	double	   *dh_in;			/* window x batch x H: from the layer above */
	double	   *dh_below;		/* window x batch x H: to the layer below */
	double	   *dh_next;		/* batch x H */
	double	   *dc_next;		/* batch x H */
	double	   *zeros;			/* batch x H of zeros: the initial state */
} LstmWork;

extern void lstm_layout(const LstmShape *shape, LstmLayout *layout);
extern Size lstm_work_bytes(const LstmShape *shape, int batch);
extern void lstm_work_init(LstmWork *work, const LstmShape *shape, int batch);
extern void lstm_init_params(const LstmShape *shape, const LstmLayout *layout,
							 double *theta, AimlRng *rng);
extern void lstm_forward(const LstmShape *shape, const LstmLayout *layout,
						 const double *theta, LstmWork *work, int batch);
extern double lstm_loss(const LstmShape *shape, const LstmWork *work, int batch,
						const double *target, LstmLoss loss, double *dy);
extern void lstm_backward(const LstmShape *shape, const LstmLayout *layout,
						  const double *theta, LstmWork *work, int batch,
						  const double *dy, double *grad);
extern double lstm_gradient_check(uint64 seed);

/* Calendar features of one timestamp (UTC): sin/cos of hour and weekday. */
extern void lstm_calendar_features(TimestampTz ts, double *out);

/* What the model remembers of each training series to forecast it. */
typedef struct LstmSeries
{
	char	   *name;
	double		mean;			/* scaling fitted on the training part */
	double		scale;			/* standard deviation, 1 for a constant series */
	int64		interval;		/* median step between timestamps, microseconds */
	int			count;			/* observations the series had */
	double	   *last_values;	/* the last `window` raw values (LstmModel.window) */
	TimestampTz *last_ts;		/* and their timestamps */
} LstmSeries;

/* How the values of one window are turned into the network's units. */
typedef struct LstmScaling
{
	LstmNormalize normalize;
	int			season;			/* 0: none */
	bool		deseasonalize;	/* targets relative to the seasonal naive path */
} LstmScaling;

extern void lstm_window_scaling(const LstmScaling *sc, const double *values, int window,
								double series_mean, double series_scale,
								double *level, double *unit);
extern void lstm_seasonal_base(const LstmScaling *sc, const double *values, int window,
							   double level, double unit, int horizon, double *base);

/* One network of an ensemble (one alone by default). */
typedef struct LstmMember
{
	int			best_epoch;		/* 1-based epoch whose weights were kept */
	int			epochs_run;
	double	   *train_loss;		/* per epoch, scaled units */
	double	   *validation_loss;	/* per epoch; NaN without a validation tail */
	double	   *theta;
} LstmMember;

/* A trained model in memory: what the payload holds, in order. */
typedef struct LstmModel
{
	LstmShape	shape;
	int			window;			/* past values read: shape.window * patch */
	int			patch;			/* consecutive values the network reads per step */
	bool		calendar;
	LstmScaling scaling;
	/* the training options, for describe */
	int			epochs;
	int			batch;
	int			patience;
	int			threads;
	double		learning_rate;
	double		clip;
	double		validation;
	int64		seed;
	int			stride;
	LstmLoss	loss;
	int			validation_windows;
	Size		nparams;
	int			members;		/* networks averaged, seeds seed .. seed + members - 1 */
	LstmMember *member;
	double	   *residual_sd;	/* per step ahead, in scaled units */
	int			nseries;
	LstmSeries *series;			/* sorted by name */
} LstmModel;

extern AimlModel *lstm_model_build(const LstmModel *m);

/*
 * The dispatcher's entry point: the next horizon values of series (NULL for
 * a model of one series), their 80% and 95% intervals and timestamps.
 */
extern void lstm_forecast(const AimlModel *model, int horizon, const char *series,
						  double *yhat, double *lo80, double *hi80,
						  double *lo95, double *hi95, TimestampTz *ts);

extern void lstm_describe(const AimlModel *model, StringInfo json);

#endif							/* AIML_LSTM_H */
