package dev.lmspark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class SecretsTest {
    private static String redact(String message, String... args) {
        return Secrets.in(args).redact(message);
    }

    @Test
    void secretValuesAreHiddenAndOrdinaryFlagsAreNot() {
        String r = Secrets.REDACTED;
        assertEquals(
                "x=" + r + " y=" + r,
                redact(
                        "x=s3cr3t y=azur3",
                        "--conf",
                        "spark.hadoop.fs.s3a.secret.key=s3cr3t",
                        "--conf",
                        "spark.hadoop.fs.azure.account.key.acct.blob.core.windows.net=azur3"));
        assertEquals(
                "Unknown options: '--api-token=" + r + "', '--password', '" + r + "'",
                redact(
                        "Unknown options: '--api-token=tok1', '--password', 'pw2'",
                        "--api-token=tok1",
                        "--password",
                        "pw2"));
        assertEquals(
                "s3a://" + r + "@bucket/x",
                redact("s3a://AKIA:s3cr3t@bucket/x", "--output", "s3a://AKIA:s3cr3t@bucket/x"));
        // lmspark's own flags and ordinary settings print as given.
        assertEquals(
                "--tokenizer /data/tok --max-tokens 1000 spark.executor.cores=2",
                redact(
                        "--tokenizer /data/tok --max-tokens 1000 spark.executor.cores=2",
                        "--tokenizer",
                        "/data/tok",
                        "--max-tokens",
                        "1000",
                        "--conf",
                        "spark.executor.cores=2",
                        "--conf",
                        "spark.ssl.keyStore=/etc/ks"));
    }
}
