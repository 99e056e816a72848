// HS256 session tokens made by hand for the identity tests, forged on purpose (another
// secret, another issuer, long expired): a library signer would refuse half of these.
import { createHmac } from 'node:crypto';

const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');

export class SignJWT {
  private claims: Record<string, unknown>;

  constructor(
    claims: Record<string, unknown>,
    private readonly secret: string,
  ) {
    this.claims = { ...claims, iat: Math.floor(Date.now() / 1000) };
  }

  issuer(iss: string): this {
    this.claims.iss = iss;
    return this;
  }

  expires(exp: number): this {
    this.claims.exp = exp;
    return this;
  }

  async sign(): Promise<string> {
    const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(this.claims)}`;
    return `${body}.${createHmac('sha256', this.secret).update(body).digest('base64url')}`;
  }
}
