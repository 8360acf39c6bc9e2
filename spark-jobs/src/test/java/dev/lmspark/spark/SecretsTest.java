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
                        "Unknown options: '--api-token=tok1', '--password', 'pw2x'",
                        "--api-token=tok1",
                        "--password",
                        "pw2x"));
        assertEquals(
                "s3a://" + r + "@bucket/x",
                redact("s3a://AKIA:s3cr3t@bucket/x", "--output", "s3a://AKIA:s3cr3t@bucket/x"));
        // --flag=key=value, -Dkey=value among JVM flags, a URI after a scheme prefix.
        assertEquals(
                "a " + r + " b " + r + " c " + r,
                redact(
                                "a S3CRET b hunter22 c user:pw@",
                                "--conf=spark.hadoop.fs.s3a.secret.key=S3CRET",
                                "--conf",
                                "spark.executor.extraJavaOptions=-Dx=1 -Dy.password=hunter22",
                                "--master",
                                "k8s://https://user:pw@host")
                        .replace("@", ""));
        // Values too plain to hide (they would garble every message): left alone.
        assertEquals(
                "256 bits, true",
                redact(
                        "256 bits, true",
                        "--conf",
                        "spark.hadoop.dfs.encrypt.data.transfer.cipher.key.bitlength=256",
                        "--conf",
                        "spark.ssl.enabled.key=true",
                        "--password",
                        ""));
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
