/*
 * forecast.h: the forecasting module's shared declarations.
 *
 * The module has three layers:
 *   - numerics on plain double arrays, free of SQL: ETS (ets.c), Theta and the
 *     naive baselines (theta.c), decomposition, autocorrelation and season
 *     detection (decompose.c), the Nelder-Mead optimizer (optim.c);
 *   - the model value: one in-memory form, FcModel, for every forecasting
 *     kind, written to and read from the aiml.model payload (fcmodel.c);
 *   - the SQL surface: the training aggregates over (ts, value) (series.c),
 *     aiml.forecast and friends (fcsql.c), insight and accuracy (insight.c).
 */
#ifndef AIML_FORECAST_H
#define AIML_FORECAST_H

#include "postgres.h"

#include "core/model.h"
#include "datatype/timestamp.h"
#include "lib/stringinfo.h"

#define FC_FORMAT_VERSION 1

#define FC_MAX_HORIZON 10000
#define FC_MAX_LEVELS 10
#define FC_MAX_POINTS 10000000	/* observations one model is fitted to */
#define FC_MAX_SEASON 100000
#define FC_DEFAULT_SIMULATIONS 1000
#define FC_MAX_SIMULATIONS 100000
#define FC_DEFAULT_SEED 42

/* ETS components */
typedef enum EtsComp
{
	ETS_N = 0,					/* none */
	ETS_A = 1,					/* additive */
	ETS_M = 2,					/* multiplicative */
	ETS_AD = 3					/* additive damped (trend only) */
} EtsComp;

typedef struct EtsFit
{
	int			error;			/* ETS_A or ETS_M */
	int			trend;			/* ETS_N, ETS_A or ETS_AD */
	int			season;			/* ETS_N, ETS_A or ETS_M */
	int			m;				/* season length, 1 when season is N */
	double		alpha,
				beta,
				gamma,
				phi;
	double		level;			/* states after the last observation */
	double		slope;
	double	   *seas;			/* m seasonal states: seas[k] is used at step k + 1 */
	double		sigma2;			/* variance of the (relative, for M) errors */
	double		loglik;
	double		aic,
				aicc,
				bic;
	double		mse;
	int			nparams;
} EtsFit;

typedef enum BaselineMethod
{
	BASE_NAIVE = 0,
	BASE_SNAIVE = 1,
	BASE_DRIFT = 2
} BaselineMethod;

typedef struct ThetaFit
{
	double		alpha;			/* SES smoothing of the adjusted series */
	double		level;			/* SES level after the last observation */
	double		drift;			/* half the slope of the linear trend */
	double		offset;			/* (1 - (1 - alpha)^n) / alpha */
	double		sigma2;			/* SES one-step error variance */
	int			m;				/* 1 when not seasonally adjusted */
	double	   *seas;			/* m multiplicative indices, seas[k] for step k + 1 */
} ThetaFit;

typedef struct BaselineFit
{
	int			method;			/* BaselineMethod */
	int			m;				/* season length used by snaive, else 1 */
	double	   *last;			/* the last m observations, oldest first */
	double		slope;			/* drift per step */
	double		sigma2;			/* one-step residual variance */
	int			n;				/* observations (drift's variance needs it) */
} BaselineFit;

/* What every forecasting model knows of the series it was fitted to. */
typedef struct FcModel
{
	AimlModelKind kind;
	int32		n;				/* observations after gap filling */
	int32		season;			/* season length considered (1: none) */
	int32		gaps_filled;	/* slots filled by interpolation */
	bool		has_ts;			/* fitted from timestamps, so forecasts carry ts */
	TimestampTz first_ts;
	TimestampTz last_ts;
	int64		interval_us;	/* step, when interval_months is 0 */
	int32		interval_months;	/* step in months (1, 3, 12), or 0 */
	double		scale;			/* in-sample MAE of seasonal naive: MASE's scale */
	int			nlevels;
	double		levels[FC_MAX_LEVELS];
	uint64		seed;
	int32		simulations;
	EtsFit		ets;
	ThetaFit	theta;
	BaselineFit base;
} FcModel;

/* Forecast of h steps: mean[h], and per level lo/hi[level * h + step]. */
typedef struct FcPath
{
	int			h;
	int			nlevels;
	double	   *levels;
	double	   *mean;
	double	   *lo;
	double	   *hi;
} FcPath;

/* optim.c */
typedef double (*FcObjective) (const double *x, void *arg);
extern int	fc_nelder_mead(FcObjective f, void *arg, double *x, const double *step,
						   int dim, int max_evals, double reltol, double *fmin);

/* decompose.c */
extern void fc_acf(const double *y, int n, int maxlag, double *r);
extern bool fc_seasonality_test(const double *y, int n, int m, double z);
extern int	fc_detect_season(const double *y, int n, int hint);
extern void fc_moving_average(const double *y, int n, int m, double *trend);
extern void fc_classical_decompose(const double *y, int n, int m, bool multiplicative,
								   double *trend, double *figure);
extern double fc_snaive_mae(const double *y, int n, int m);
extern bool fc_all_positive(const double *y, int n);

/* ets.c */
typedef struct EtsSpec
{
	int			error;			/* -1: choose */
	int			trend;			/* -1: choose */
	int			season;			/* -1: choose */
	int			damped;			/* -1: either; 0 no; 1 yes */
} EtsSpec;

extern void ets_parse_spec(const char *model, int damped, EtsSpec *spec, const char *caller);
extern void ets_fit_auto(const double *y, int n, int m, const EtsSpec *spec, EtsFit *fit,
						 const char *caller);
extern void ets_forecast(const EtsFit *fit, FcPath *path, uint64 seed, int simulations);
extern bool ets_analytic(const EtsFit *fit);
extern const char *ets_name(const EtsFit *fit, char *buf);

/* theta.c */
extern void theta_fit(const double *y, int n, int m, ThetaFit *fit);
extern void theta_forecast(const ThetaFit *fit, FcPath *path);
extern void baseline_fit(const double *y, int n, int m, int method, BaselineFit *fit);
extern void baseline_forecast(const BaselineFit *fit, FcPath *path);
extern const char *const fc_baseline_names[];

/* fcmodel.c */
extern void fc_model_init(FcModel *fm, AimlModelKind kind, int n, int season);
extern AimlModel *fc_model_build(const FcModel *fm);
extern FcModel *fc_model_read(const AimlModel *model, MemoryContext cxt);
extern void fc_path_alloc(FcPath *path, int h, const double *levels, int nlevels);
extern void fc_model_predict(const FcModel *fm, FcPath *path);
extern void fc_fit(FcModel *fm, const double *y, int n, const EtsSpec *spec, int method,
				   const char *caller);
extern void ets_describe(const AimlModel *model, StringInfo json);
extern void theta_describe(const AimlModel *model, StringInfo json);
extern void baseline_describe(const AimlModel *model, StringInfo json);

/* series.c */
extern void fc_check_season(int season, int n, const char *caller);
extern void fc_check_horizon(int h);
extern void fc_check_values(const double *y, int n, const char *caller);

#endif							/* AIML_FORECAST_H */
