package dev.lmspark.generate;

import dev.lmspark.data.tokenizer.LmTokenizer;
import dev.lmspark.model.generate.CausalSampler;
import dev.lmspark.model.generate.Generated;
import dev.lmspark.model.generate.HistorySink;
import dev.lmspark.model.generate.IterativeUnmasking;
import dev.lmspark.model.task.CausalLm;
import dev.lmspark.spark.AtomicOutput;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;

/** The generation itself, with the counters the summary reports. */
/**
 * One {@code generate} run after its checks: the model on its device, the rows to generate from
 * (prompts, unconditional samples or a dataset's prediction rows), the output lines and the
 * counters the summary reports.
 */
final class GenerationRun {
    final GenerateJob.Config c;
    final LmTokenizer tok;
    final PrintWriter out;
    final PrintWriter progress;
    final AtomicOutput history;
    final int maxNewTokens;
    final int steps;
    int lines;
    long newTokens;
    int matches = -1;

    GenerationRun(
            GenerateJob.Config c,
            LmTokenizer tok,
            PrintWriter out,
            PrintWriter progress,
            AtomicOutput history,
            int maxNewTokens) {
        this.c = c;
        this.tok = tok;
        this.out = out;
        this.progress = progress;
        this.history = history;
        this.maxNewTokens = maxNewTokens;
        this.steps = c.steps() != null ? c.steps() : maxNewTokens;
    }

    void print(String text) {
        out.println(GenerateJob.oneLine(text));
        out.flush();
        lines++;
    }

    void causal(CausalLm model) {
        CausalSampler sampler =
                CausalSampler.builder()
                        .setModel(model)
                        .setTokenizer(tok)
                        .optMaxNewTokens(maxNewTokens)
                        .optSampler(c.sampler())
                        .optSeed(c.seed())
                        .optStopAtEos(c.stopAtEos())
                        .optKvCache(c.kvCache())
                        .optSkipSpecialTokens(!c.keepSpecialTokens())
                        .build();
        if (c.numSamples() > 0) {
            for (int i = 0; i < c.numSamples(); i++) {
                Generated g = sampler.generate(new int[0], i);
                newTokens += g.ids().length - g.outputStart();
                print(c.newTextOnly() ? g.outputText() : g.text());
            }
            return;
        }
        for (int i = 0; i < c.prompts().size(); i++) {
            String prompt = c.prompts().get(i);
            if (c.infilling()) {
                String suffix = c.suffix(i);
                Generated g = sampler.infill(prompt, suffix);
                newTokens += g.ids().length - g.outputStart();
                print(
                        c.newTextOnly()
                                ? g.outputText()
                                : c.keepSpecialTokens()
                                        ? g.text()
                                        : tok.decode(tok.encode(prompt).ids(), true)
                                                + g.outputText()
                                                + tok.decode(tok.encode(suffix).ids(), true));
            } else {
                Generated g = sampler.generate(tok.encode(prompt).ids(), 0);
                newTokens += g.ids().length - g.outputStart();
                print(c.newTextOnly() ? g.outputText() : g.text());
            }
        }
    }

    IterativeUnmasking unmasking(IterativeUnmasking.Builder model, String historyPrefix) {
        IterativeUnmasking.Builder b =
                model.setTokenizer(tok)
                        .setMaxSteps(steps)
                        .optMaxNewTokens(maxNewTokens)
                        .optNoiseSchedule(c.schedule())
                        .optSampler(c.sampler())
                        .optOrder(c.order())
                        .optSkipSpecialTokens(!c.keepSpecialTokens())
                        .optSeed(c.seed());
        if (history != null) {
            HistorySink sink = (path, bytes) -> history.write(historyPrefix + path, bytes);
            b.optHistory(sink, c.historyTopK());
        }
        return b.build();
    }

    void masked(IterativeUnmasking.Builder model) {
        if (c.numSamples() > 0) {
            IterativeUnmasking gen = unmasking(model, "");
            for (int from = 0; from < c.numSamples(); from += c.batchSize()) {
                int n = Math.min(c.batchSize(), c.numSamples() - from);
                long[] keys = new long[n];
                for (int i = 0; i < n; i++) {
                    keys[i] = from + i;
                }
                for (Generated g : gen.predict(new int[n][0], null, keys)) {
                    newTokens += maxNewTokens;
                    print(g.text());
                }
            }
            return;
        }
        for (int i = 0; i < c.prompts().size(); i++) {
            String prompt = c.prompts().get(i);
            // Every prompt has row key 0, so each has its own history folder.
            Generated g = unmasking(model, "prompt-" + i + "/").generate(prompt);
            newTokens += maxNewTokens;
            print(maskedText(g));
        }
    }

    /** The text of a masked-LM row generated after a prompt or prefix: cut at [SEP]. */
    String maskedText(Generated g) {
        if (c.keepSpecialTokens()) {
            return c.newTextOnly() ? g.outputText() : g.text();
        }
        int[] output = GenerateJob.untilSep(tok, g.outputIds());
        if (c.newTextOnly()) {
            return tok.decode(output, true);
        }
        int[] prompt = Arrays.copyOf(g.ids(), g.outputStart());
        int[] all = Arrays.copyOf(prompt, prompt.length + output.length);
        System.arraycopy(output, 0, all, prompt.length, output.length);
        return tok.decode(all, true);
    }

    void predictDataset(IterativeUnmasking.Builder model, List<PredictionRows.PredictRow> rows) {
        IterativeUnmasking gen = unmasking(model, "");
        long started = System.nanoTime();
        matches = 0;
        for (int from = 0; from < rows.size(); from += c.batchSize()) {
            List<PredictionRows.PredictRow> batch =
                    rows.subList(from, Math.min(rows.size(), from + c.batchSize()));
            int[][] ids = new int[batch.size()][];
            int[][] masks = new int[batch.size()][];
            long[] keys = new long[batch.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = batch.get(i).inputIds();
                masks[i] = batch.get(i).attentionMask();
                keys[i] = batch.get(i).exampleId();
            }
            List<Generated> done = gen.predict(ids, masks, keys);
            for (int i = 0; i < ids.length; i++) {
                Generated g = done.get(i);
                int[] predicted = GenerateJob.untilSep(tok, g.outputIds());
                if (Arrays.equals(predicted, GenerateJob.untilSep(tok, batch.get(i).targetIds()))) {
                    matches++;
                }
                newTokens += maxNewTokens;
                print(c.keepSpecialTokens() ? g.outputText() : tok.decode(predicted, true));
            }
            if (rows.size() > c.batchSize()) {
                progress.printf(
                        "generate: %,d/%,d rows (%.1f rows/s)%n",
                        from + batch.size(),
                        rows.size(),
                        (from + batch.size()) / ((System.nanoTime() - started) / 1e9));
            }
        }
        progress.printf(
                "generate: exact match %d/%d (%.1f%%)%n",
                matches, rows.size(), 100.0 * matches / rows.size());
    }
}
