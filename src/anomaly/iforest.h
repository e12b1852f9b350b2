/*
 * iforest.h: the isolation forest model kind (standard and extended).
 */
#ifndef AIML_IFOREST_H
#define AIML_IFOREST_H

#include "core/model.h"

#define IFOREST_FORMAT_VERSION 1

extern void iforest_describe(const AimlModel *model, StringInfo json);

#endif							/* AIML_IFOREST_H */
