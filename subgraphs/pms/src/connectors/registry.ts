import { z } from 'zod';
import { MewsConnector, mewsCredentials } from './mews.js';
import { OperaConnector, operaCredentials } from './opera.js';
import type { PmsConnector } from './types.js';

/** The wire styles Innkeep speaks. A connection's `vendor` is one of these, or an alias of one. */
export const VENDOR_STYLES = ['mews', 'opera'] as const;
export type VendorStyle = (typeof VENDOR_STYLES)[number];

export const CREDENTIALS_SCHEMA: Record<VendorStyle, z.ZodType<Record<string, string>>> = { mews: mewsCredentials, opera: operaCredentials };

export interface AdapterSpec {
  /** The value of `pms.connections.vendor` this adapter serves. */
  name: string;
  style: VendorStyle;
  baseUrl: string;
}

/**
 * PMS_ADAPTERS: comma-separated `name` (a built-in style: mews, opera) or `name=style` (another vendor
 * account of that style under its own name, e.g. a staging tenant — the chaos test runs `chaospms=mews`
 * so that only its own pms process serves its hotel). Base URLs: PMS_MEWS_URL / PMS_OPERA_URL for the
 * built-in names, else PMS_VENDOR_URL.
 */
export const adapterListSchema = z
  .string()
  .transform((list, ctx) => {
    const specs: Array<{ name: string; style: VendorStyle }> = [];
    for (const entry of list.split(',').map((e) => e.trim()).filter(Boolean)) {
      const [name, style = name] = entry.split('=').map((p) => p.trim()) as [string, string?];
      if (!/^[a-z0-9_-]{1,40}$/.test(name) || !(VENDOR_STYLES as readonly string[]).includes(style)) {
        ctx.addIssue({ code: 'custom', message: `"${entry}" is not name or name=style with style one of ${VENDOR_STYLES.join(', ')}` });
        return z.NEVER;
      }
      if (specs.some((s) => s.name === name)) {
        ctx.addIssue({ code: 'custom', message: `adapter "${name}" is listed twice` });
        return z.NEVER;
      }
      specs.push({ name, style: style as VendorStyle });
    }
    if (!specs.length) {
      ctx.addIssue({ code: 'custom', message: 'must name at least one adapter' });
      return z.NEVER;
    }
    return specs;
  });

/** One connector per served vendor name, built at start-up (each keeps its own caches, e.g. OAuth tokens). */
export class ConnectorRegistry {
  private readonly connectors = new Map<string, { style: VendorStyle; connector: PmsConnector }>();

  constructor(specs: readonly AdapterSpec[], options: { timeoutMs: number }) {
    for (const spec of specs) {
      const connector = spec.style === 'mews' ? new MewsConnector(spec.name, { baseUrl: spec.baseUrl, timeoutMs: options.timeoutMs }) : new OperaConnector(spec.name, { baseUrl: spec.baseUrl, timeoutMs: options.timeoutMs });
      this.connectors.set(spec.name, { style: spec.style, connector });
    }
  }

  /** The connector for a connection's vendor; undefined when this process does not serve it. */
  get(vendor: string): PmsConnector | undefined {
    return this.connectors.get(vendor)?.connector;
  }

  styleOf(vendor: string): VendorStyle | undefined {
    return this.connectors.get(vendor)?.style;
  }

  vendors(): string[] {
    return [...this.connectors.keys()];
  }
}
