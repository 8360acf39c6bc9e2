package dev.lmspark.train;

import java.util.List;

/**
 * What a round's worker updates look like, for {@code metrics.jsonl}: each worker's delta norm and
 * how much the workers agree (the mean pairwise cosine of their deltas: 1 when they all moved the
 * same way, about 0 when their moves are unrelated noise). Computed on the driver in float64, in
 * worker order, in one pass over the parameters (a Gram matrix of the deltas), so it costs O(W² ·
 * parameters) and never changes a result.
 */
final class RoundTelemetry {
    private RoundTelemetry() {}

    /**
     * @param norms each worker's ‖Δ_w‖₂, in worker order
     * @param gram Δ_a · Δ_b for every pair
     */
    record Deltas(double[] norms, double[][] gram) {
        /** The mean over pairs a < b of cos(Δ_a, Δ_b); NaN with one worker; 0 for a zero delta. */
        double meanPairwiseCosine() {
            int w = norms.length;
            if (w < 2) {
                return Double.NaN;
            }
            double sum = 0;
            int pairs = 0;
            for (int a = 0; a < w; a++) {
                for (int b = a + 1; b < w; b++) {
                    double denominator = norms[a] * norms[b];
                    sum += denominator == 0 ? 0 : gram[a][b] / denominator;
                    pairs++;
                }
            }
            return sum / pairs;
        }
    }

    /** The norms and pairwise products of {@code deltas} (in worker order). */
    static Deltas deltas(List<Parameters> deltas) {
        int w = deltas.size();
        double[][] gram = new double[w][w];
        float[][] column = new float[w][];
        int tensors = deltas.get(0).size();
        for (int i = 0; i < tensors; i++) {
            for (int a = 0; a < w; a++) {
                column[a] = deltas.get(a).values(i);
            }
            int n = column[0].length;
            for (int a = 0; a < w; a++) {
                float[] x = column[a];
                for (int b = a; b < w; b++) {
                    float[] y = column[b];
                    double s = 0;
                    for (int j = 0; j < n; j++) {
                        s += (double) x[j] * y[j];
                    }
                    gram[a][b] += s;
                }
            }
        }
        double[] norms = new double[w];
        for (int a = 0; a < w; a++) {
            for (int b = 0; b < a; b++) {
                gram[a][b] = gram[b][a];
            }
            norms[a] = Math.sqrt(gram[a][a]);
        }
        return new Deltas(norms, gram);
    }
}
