package dev.lmspark.cli;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.lmspark.data.BadInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * {@code --config FILE}: a JSON or YAML object whose keys are a command's flags without the dashes
 * ({@code vocab-size} or {@code vocab_size}), turned into arguments placed before the command
 * line's own, so flags given on the command line win. Lists become repeated flags, {@code conf} an
 * object of Spark settings merged key by key with the command line's {@code --conf} (the command
 * line wins per key), switches {@code true}/{@code false}. A {@code master} key is also read by the
 * launcher ({@code deploy/bin/lmspark}), which decides between local mode and spark-submit.
 */
final class ConfigFile {
    private ConfigFile() {}

    /** {@code args} with the flags of its {@code --config} file, if any, spliced in. */
    static String[] expand(CommandLine root, String[] args) {
        int commandAt = -1;
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("-")) {
                commandAt = i;
                break;
            }
        }
        if (commandAt < 0 || !root.getSubcommands().containsKey(args[commandAt])) {
            return args;
        }
        String file = null;
        for (int i = commandAt + 1; i < args.length; i++) {
            if (args[i].equals("--config") && i + 1 < args.length) {
                file = args[i + 1];
            } else if (args[i].startsWith("--config=")) {
                file = args[i].substring("--config=".length());
            }
        }
        if (file == null) {
            return args;
        }
        CommandLine command = root.getSubcommands().get(args[commandAt]);
        List<String> cli = List.of(args).subList(commandAt + 1, args.length);
        List<String> expanded = new ArrayList<>(List.of(args).subList(0, commandAt + 1));
        expanded.addAll(flags(command, file, cli));
        expanded.addAll(cli);
        return expanded.toArray(String[]::new);
    }

    private static List<String> flags(CommandLine command, String file, List<String> cli) {
        JsonNode root;
        try {
            // No source excerpt in parse errors: the file may hold secrets (conf).
            root =
                    YAMLMapper.builder()
                            .disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
                            .build()
                            .readTree(Files.readAllBytes(Path.of(file)));
        } catch (IOException e) {
            throw new BadInputException(
                    "--config "
                            + file
                            + " cannot be read: "
                            + e.getMessage().lines().findFirst().orElse(""));
        }
        if (root == null || !root.isObject()) {
            throw new BadInputException(
                    "--config "
                            + file
                            + " must hold one JSON or YAML object of flags, like {\"seed\": 7}");
        }
        String name = command.getCommandName();
        List<String> out = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            String flag = "--" + entry.getKey().replace('_', '-');
            OptionSpec option = command.getCommandSpec().findOption(flag);
            if (option == null
                    || flag.equals("--config")
                    || option.usageHelp()
                    || option.versionHelp()) {
                throw new BadInputException(
                        "--config "
                                + file
                                + ": '"
                                + entry.getKey()
                                + "' is not a flag of lmspark "
                                + name
                                + "; see lmspark "
                                + name
                                + " --help");
            }
            JsonNode value = entry.getValue();
            // A map flag (--conf) merges per key: the file's entries go first, so a key the
            // command line gives again wins. Any other flag given on the command line replaces
            // the file's value (a list included).
            boolean map = option.typeInfo().isMap();
            if (givenOnCommandLine(option, cli) && !map) {
                continue;
            }
            if (map != value.isObject()) {
                throw new BadInputException(
                        "--config "
                                + file
                                + ": '"
                                + entry.getKey()
                                + (map
                                        ? "' must be an object of key: value entries, like"
                                                + " {\"spark.executor.memory\": \"8g\"}"
                                        : "' takes a value or a list, not an object"));
            }
            if (option.arity().max() == 0) {
                if (value.asBoolean(false)) {
                    out.add(flag);
                }
            } else if (value.isObject()) {
                value.fields()
                        .forEachRemaining(
                                kv -> {
                                    out.add(flag);
                                    out.add(kv.getKey() + "=" + kv.getValue().asText());
                                });
            } else if (value.isArray()) {
                value.forEach(
                        v -> {
                            out.add(flag);
                            out.add(v.asText());
                        });
            } else {
                out.add(flag);
                out.add(value.asText());
            }
        }
        return out;
    }

    private static boolean givenOnCommandLine(OptionSpec option, List<String> cli) {
        for (String arg : cli) {
            for (String name : option.names()) {
                if (arg.equals(name) || arg.startsWith(name + "=")) {
                    return true;
                }
            }
        }
        return false;
    }
}
