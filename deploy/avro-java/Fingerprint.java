// Prints, for each self-contained .avsc given, Apache Avro Java's view of it:
//   <file> TAB <full name> TAB <parsingFingerprint64 as 8 little-endian bytes, hex> TAB <canonical form>
// Run with Java 11+ single-file launch:
//   java -cp 'deploy/kafka/target/lib/*' deploy/avro-java/Fingerprint.java a.avsc b.avsc
// citybus's tests use it to check Python's fingerprints against the reference implementation.
import java.io.File;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;

public class Fingerprint {
    public static void main(String[] args) throws Exception {
        for (String path : args) {
            Schema schema = new Schema.Parser().parse(new File(path));
            long fp = SchemaNormalization.parsingFingerprint64(schema);
            StringBuilder hex = new StringBuilder();
            for (int i = 0; i < 8; i++) {
                hex.append(String.format("%02x", (fp >>> (8 * i)) & 0xff));
            }
            System.out.println(path + "\t" + schema.getFullName() + "\t" + hex + "\t" + SchemaNormalization.toParsingForm(schema));
        }
    }
}
