import { MOTO_INSTALL_HINT, MotoNotInstalledError, startMoto } from '../../../scripts/lib/moto'

describe('startMoto without moto installed', () => {
  it('says moto is missing and how to install it, instead of a stack trace', async () => {
    const err = await startMoto({ searchPath: '/nonexistent-dir' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MotoNotInstalledError)
    expect((err as Error).message).toBe(MOTO_INSTALL_HINT)
    expect(MOTO_INSTALL_HINT).toContain("pip install 'moto[server]'")
    // What works on PEP 668 system Pythons (Debian's), where a plain pip install is refused:
    expect(MOTO_INSTALL_HINT).toContain("pipx install 'moto[server]'")
    expect(MOTO_INSTALL_HINT).toContain('python3 -m venv')
  })
})
