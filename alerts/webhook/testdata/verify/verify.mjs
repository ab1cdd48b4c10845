// Verifies one webhook with the Standard Webhooks reference library, independently of the Go
// code that signed it. Reads {"secret", "headers", "body"} as JSON on stdin; prints the verified
// payload as JSON and exits 0, or prints the library's error on stderr and exits 1.
import { Webhook } from "standardwebhooks";

let input = "";
for await (const chunk of process.stdin) {
  input += chunk;
}
try {
  const { secret, headers, body } = JSON.parse(input);
  const payload = new Webhook(secret).verify(body, headers);
  process.stdout.write(JSON.stringify(payload));
} catch (err) {
  process.stderr.write(`${err.name}: ${err.message}\n`);
  process.exit(1);
}
