# Writes the mlbench datasets the anomaly benchmark uses as CSV files (numeric
# features, then label: 1 = anomaly), into the directory given as argument.
# Labels follow the usual outlier-detection conventions (ODDS): the minority
# or rare classes are the anomalies.
suppressMessages(library(mlbench))
out <- commandArgs(trailingOnly = TRUE)[1]

num <- function(df) as.data.frame(lapply(df, function(c) as.numeric(as.character(c))))
save <- function(name, x, y) {
	d <- cbind(num(x), label = as.integer(y))
	d <- d[complete.cases(d), ]
	write.table(d, file.path(out, paste0(name, ".csv")), sep = ",", row.names = FALSE, col.names = FALSE)
}

data(BreastCancer)
save("BreastCancer", BreastCancer[, 2:10], BreastCancer$Class == "malignant")
data(PimaIndiansDiabetes)
save("PimaIndiansDiabetes", PimaIndiansDiabetes[, 1:8], PimaIndiansDiabetes$diabetes == "pos")
data(Ionosphere)
save("Ionosphere", Ionosphere[, c(1, 3:34)], Ionosphere$Class == "bad")
data(Satellite)
save("Satellite", Satellite[, 1:36],
	 Satellite$classes %in% c("cotton crop", "damp grey soil", "vegetation stubble"))
data(Shuttle)
s <- Shuttle[Shuttle$Class != "High", ]
save("Shuttle", s[, 1:9], s$Class != "Rad.Flow")
