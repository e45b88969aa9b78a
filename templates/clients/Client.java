// certlab's Java client: JSSE with the PKIX trust manager, one JVM for the whole batch
// (`java Client.java`, single-file source launch).
//
// It reads one job per line on stdin (tab-separated: id host port server_name ca cert key tls
// ciphers alpn, `-` for an absent value), connects, completes the handshake with endpoint
// identification "HTTPS", sends one HTTP/1.1 request and reads the answer, then writes one line
// on stdout: `id<TAB>ok<TAB>-`, `id<TAB>fail<TAB>WORDS` or `id<TAB>na<TAB>WHY`. The CA file is
// the only trust; the client key is a PKCS#8 PEM key (EC, RSA or Ed25519); the cipher names are
// JSSE's (IANA) names.

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

public class Client {
    static final int TIMEOUT_MS = 5000;

    /** A job this client cannot express. */
    static class NotApplicable extends Exception {
        NotApplicable(String why) {
            super(why);
        }
    }

    static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("[\\t\\r\\n]+", " ").trim();
    }

    /** The exception and each cause whose text it does not already carry. */
    static String words(Throwable e) {
        StringBuilder out = new StringBuilder(e.toString());
        for (Throwable c = e.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
            String m = c.getMessage();
            if (m != null && out.indexOf(m) < 0) {
                out.append(": ").append(c.toString());
            }
        }
        return oneLine(out.toString());
    }

    /** The DER bodies of the PEM blocks of one type ("CERTIFICATE", "X509 CRL") in a file. */
    static List<byte[]> blocks(String file, String type) throws Exception {
        String pem = Files.readString(Path.of(file));
        String begin = "-----BEGIN " + type + "-----", end = "-----END " + type + "-----";
        List<byte[]> out = new ArrayList<>();
        for (int at = pem.indexOf(begin); at >= 0; at = pem.indexOf(begin, at + 1)) {
            int stop = pem.indexOf(end, at);
            if (stop < 0) {
                break;
            }
            String body = pem.substring(at + begin.length(), stop).replaceAll("\\s", "");
            out.add(Base64.getDecoder().decode(body));
        }
        return out;
    }

    static List<Certificate> certs(String file) throws Exception {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        List<Certificate> out = new ArrayList<>();
        for (byte[] der : blocks(file, "CERTIFICATE")) {
            out.add(cf.generateCertificate(new java.io.ByteArrayInputStream(der)));
        }
        return out;
    }

    /** The CRLs in a file (the lab appends its CRL to the CA file of a revocation scenario). */
    static List<java.security.cert.CRL> crls(String file) throws Exception {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        List<java.security.cert.CRL> out = new ArrayList<>();
        for (byte[] der : blocks(file, "X509 CRL")) {
            out.add(cf.generateCRL(new java.io.ByteArrayInputStream(der)));
        }
        return out;
    }

    static PrivateKey key(String file) throws Exception {
        String pem = Files.readString(Path.of(file));
        int begin = pem.indexOf("-----BEGIN PRIVATE KEY-----");
        int end = pem.indexOf("-----END PRIVATE KEY-----");
        if (begin < 0 || end < 0) {
            throw new NotApplicable("the client key is not a PKCS#8 PEM key (BEGIN PRIVATE KEY)");
        }
        String b64 = pem.substring(begin + 27, end).replaceAll("\\s", "");
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(Base64.getDecoder().decode(b64));
        for (String alg : new String[] {"EC", "RSA", "Ed25519", "RSASSA-PSS"}) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(spec);
            } catch (Exception e) {
                // try the next algorithm
            }
        }
        throw new NotApplicable("Java cannot load the client key (not EC, RSA or Ed25519 PKCS#8)");
    }

    static String[] job(String[] f) {
        String host = f[1], name = f[3], caFile = f[4], certFile = f[5], keyFile = f[6];
        String version = f[7], ciphers = f[8], alpn = f[9];
        int port = Integer.parseInt(f[2]);
        SSLContext context;
        try {
            KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
            trust.load(null, null);
            int i = 0;
            for (Certificate c : certs(caFile)) {
                trust.setCertificateEntry("ca" + (i++), c);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            List<java.security.cert.CRL> crls = crls(caFile);
            if (crls.isEmpty()) {
                tmf.init(trust);
            } else {
                // Given CRLs, check the leaf against them, as a Java user configures it:
                // PKIX parameters with a CertStore of the CRLs and a revocation checker.
                java.security.cert.PKIXBuilderParameters params =
                        new java.security.cert.PKIXBuilderParameters(trust, new java.security.cert.X509CertSelector());
                params.addCertStore(java.security.cert.CertStore.getInstance("Collection",
                        new java.security.cert.CollectionCertStoreParameters(crls)));
                java.security.cert.PKIXRevocationChecker checker = (java.security.cert.PKIXRevocationChecker)
                        java.security.cert.CertPathBuilder.getInstance("PKIX").getRevocationChecker();
                checker.setOptions(java.util.EnumSet.of(
                        java.security.cert.PKIXRevocationChecker.Option.ONLY_END_ENTITY,
                        java.security.cert.PKIXRevocationChecker.Option.PREFER_CRLS,
                        java.security.cert.PKIXRevocationChecker.Option.NO_FALLBACK));
                params.addCertPathChecker(checker);
                params.setRevocationEnabled(true);
                tmf.init(new javax.net.ssl.CertPathTrustManagerParameters(params));
            }
            KeyManagerFactory kmf = null;
            if (!certFile.equals("-")) {
                char[] password = "certlab".toCharArray();
                KeyStore keys = KeyStore.getInstance("PKCS12");
                keys.load(null, null);
                List<Certificate> chain = certs(certFile);
                keys.setKeyEntry("client", key(keyFile), password, chain.toArray(new Certificate[0]));
                kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(keys, password);
            }
            context = SSLContext.getInstance("TLS");
            context.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        } catch (NotApplicable e) {
            return new String[] {"na", e.getMessage()};
        } catch (Exception e) {
            return new String[] {"na", "cannot load the job's files: " + words(e)};
        }
        try (Socket plain = new Socket()) {
            plain.connect(new InetSocketAddress(host, port), TIMEOUT_MS);
            plain.setSoTimeout(TIMEOUT_MS);
            try (SSLSocket socket =
                    (SSLSocket) context.getSocketFactory().createSocket(plain, name, port, true)) {
                SSLParameters params = socket.getSSLParameters();
                params.setEndpointIdentificationAlgorithm("HTTPS");
                if (!name.matches("[0-9.]+") && !name.contains(":")) {
                    params.setServerNames(List.of(new SNIHostName(name)));
                }
                if (version.equals("1.2")) params.setProtocols(new String[] {"TLSv1.2"});
                if (version.equals("1.3")) params.setProtocols(new String[] {"TLSv1.3"});
                if (!ciphers.equals("-")) params.setCipherSuites(ciphers.split(","));
                if (!alpn.equals("-")) params.setApplicationProtocols(alpn.split(","));
                socket.setSSLParameters(params);
                socket.startHandshake();
                OutputStream out = socket.getOutputStream();
                String request = "GET / HTTP/1.1\r\nHost: " + name + "\r\nConnection: close\r\n\r\n";
                out.write(request.getBytes(StandardCharsets.US_ASCII));
                out.flush();
                int b = socket.getInputStream().read();
                if (b < 0) {
                    return new String[] {"fail", "the server closed the connection without an answer"};
                }
                return new String[] {"ok", "-"};
            }
        } catch (Exception e) {
            return new String[] {"fail", words(e)};
        }
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in =
                new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) continue;
            String[] f = line.split("\t", -1);
            String[] answer =
                    f.length == 10 ? job(f) : new String[] {"na", "bad job line (" + f.length + " fields)"};
            System.out.println(f[0] + "\t" + answer[0] + "\t" + oneLine(answer[1]));
            System.out.flush();
        }
    }
}
