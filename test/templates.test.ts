import { describe, expect, it } from 'vitest';
import { renderTemplate } from '../src/notifications/templates.js';

// Template variables are inserted into plain text: they may not reshape it.

describe('renderTemplate', () => {
  it('fills placeholders, with objects as JSON', () => {
    expect(
      renderTemplate('Invoice {{ number }} for {{who}}: {{items}}', {
        number: 42,
        who: 'Ann',
        items: { count: 2 },
      }),
    ).toBe('Invoice 42 for Ann: {"count":2}');
  });

  it('removes control characters and bidirectional overrides, and flattens line breaks', () => {
    const spoof = 'invoice\u202Efdp.exe';
    expect(renderTemplate('Open {{file}}', { file: spoof })).toBe('Open invoicefdp.exe');
    expect(renderTemplate('Hi {{name}}', { name: 'Ann\r\nBcc: all\u0007' })).toBe(
      'Hi Ann Bcc: all',
    );
  });

  it('keeps markup as text: escaping is the renderer’s, and title/body are text', () => {
    expect(renderTemplate('{{x}}', { x: '<img src=x onerror=alert(1)>' })).toBe(
      '<img src=x onerror=alert(1)>',
    );
  });

  it('refuses a placeholder without a variable', () => {
    expect(() => renderTemplate('Hi {{name}}', {})).toThrow(/missing: name/);
  });
});
