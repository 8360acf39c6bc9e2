package dev.lmspark.cli;

import dev.lmspark.data.corpus.SampleCorpus;
import dev.lmspark.data.tokenizer.TokenizerType;
import dev.lmspark.generate.GenerateJob;
import dev.lmspark.jobs.PrepareConfig;
import dev.lmspark.model.generate.IterativeUnmasking;
import dev.lmspark.model.generate.NoiseSchedule;
import dev.lmspark.spark.InputFormat;
import java.util.function.Function;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Flag values in lmspark's lowercase spelling, with the accepted values in every error. */
final class Converters {
    private Converters() {}

    private abstract static class Named<T> implements ITypeConverter<T> {
        private final Function<String, T> parse;

        Named(Function<String, T> parse) {
            this.parse = parse;
        }

        @Override
        public T convert(String value) {
            try {
                return parse.apply(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    static final class TokenizerTypes extends Named<TokenizerType> {
        TokenizerTypes() {
            super(TokenizerType::fromCliName);
        }
    }

    static final class CorpusKinds extends Named<SampleCorpus.Kind> {
        CorpusKinds() {
            super(SampleCorpus.Kind::fromCliName);
        }
    }

    static final class InputFormats extends Named<InputFormat> {
        InputFormats() {
            super(InputFormat::fromCliName);
        }
    }

    /** Quickstart's objectives: the dataset's, less {@code mlm-seq2seq} (no demo of its own). */
    static final class QuickstartObjectives extends Named<PrepareConfig.Objective> {
        QuickstartObjectives() {
            super(
                    name -> {
                        if (!name.equalsIgnoreCase("mlm") && !name.equalsIgnoreCase("clm")) {
                            throw new IllegalArgumentException(
                                    "unknown objective '" + name + "'; use mlm or clm");
                        }
                        return PrepareConfig.Objective.fromCliName(name);
                    });
        }
    }

    static final class NoiseSchedules extends Named<NoiseSchedule> {
        NoiseSchedules() {
            super(NoiseSchedule::fromName);
        }
    }

    /** {@code generate --unmask-order}: {@code random} or {@code confidence}. */
    static final class UnmaskOrders extends Named<IterativeUnmasking.Order> {
        UnmaskOrders() {
            super(
                    name -> {
                        for (IterativeUnmasking.Order o : IterativeUnmasking.Order.values()) {
                            if (o.name().equalsIgnoreCase(name)) {
                                return o;
                            }
                        }
                        throw new IllegalArgumentException(
                                "unknown unmask order '" + name + "'; use random or confidence");
                    });
        }
    }

    static final class Devices extends Named<GenerateJob.DeviceChoice> {
        Devices() {
            super(GenerateJob.DeviceChoice::fromCliName);
        }
    }

    /** {@code export --format}: only {@code hf} exists. */
    static final class ExportFormats implements ITypeConverter<String> {
        @Override
        public String convert(String value) {
            if (!value.equalsIgnoreCase("hf")) {
                throw new TypeConversionException(
                        "unknown export format '" + value + "'; use hf (a Hugging Face folder)");
            }
            return "hf";
        }
    }
}
