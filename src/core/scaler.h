/*
 * scaler.h: the scaler model kind (per-feature standardization), the
 * smallest complete kind and the reference for writing one.
 */
#ifndef AIML_SCALER_H
#define AIML_SCALER_H

#include "core/model.h"

#define SCALER_FORMAT_VERSION 1

extern void scaler_describe(const AimlModel *model, StringInfo json);

#endif							/* AIML_SCALER_H */
