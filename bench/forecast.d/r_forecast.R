# R's forecast package on M4 Hourly: ets() and thetaf(), horizon 48, frequency 24.
# Usage: Rscript r_forecast.R DATA_DIR OUT_DIR; writes r_ets.tsv and r_theta.tsv
# (id, step, yhat) and prints the seconds each method took.
suppressPackageStartupMessages(library(forecast))
args <- commandArgs(trailingOnly = TRUE)
train <- read.csv(file.path(args[1], "Hourly-train.csv"), stringsAsFactors = FALSE)
h <- 48
series <- lapply(seq_len(nrow(train)), function(r) {
  v <- as.numeric(train[r, -1]); ts(v[!is.na(v)], frequency = 24)
})
ids <- train[[1]]
run <- function(name, f) {
  t0 <- proc.time()[["elapsed"]]
  out <- do.call(rbind, lapply(seq_along(series), function(k) {
    data.frame(id = ids[k], step = 1:h, yhat = as.numeric(f(series[[k]])))
  }))
  secs <- proc.time()[["elapsed"]] - t0
  write.table(out, file.path(args[2], paste0("r_", name, ".tsv")), sep = "\t",
              row.names = FALSE, col.names = FALSE, quote = FALSE)
  cat(sprintf("%s %.3f\n", name, secs))
}
run("ets", function(y) forecast(ets(y), h = h)$mean)
run("theta", function(y) thetaf(y, h = h)$mean)
