package dev.lmspark.data.collate;

import java.io.Serializable;

/** Counts of what masking did, summed over examples (for the manifest's measured statistics). */
public final class MaskStats implements Serializable {
    private static final long serialVersionUID = 1L;

    public long candidates;
    public long masked;
    public long randomized;
    public long unchanged;

    void add(Masker.Result r, int candidateTokens) {
        candidates += candidateTokens;
        masked += r.masked();
        randomized += r.randomized();
        unchanged += r.unchanged();
    }

    public void add(MaskStats o) {
        candidates += o.candidates;
        masked += o.masked;
        randomized += o.randomized;
        unchanged += o.unchanged;
    }

    public long predicted() {
        return masked + randomized + unchanged;
    }
}
